#!/usr/bin/env node
import { runMain } from '@castle/runtime';
import { buildWww } from './app.js';
import { loadWwwConfig } from './config.js';

await runMain('www', () => buildWww(loadWwwConfig()));
