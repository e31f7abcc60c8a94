#!/usr/bin/env node
import { runMain } from '@castle/runtime';
import { buildBackend } from './app.js';
import { loadBackendConfig } from './config.js';

await runMain('backend', () => buildBackend(loadBackendConfig()));
