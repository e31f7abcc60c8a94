// Fastify alone in front of an undici Pool: bench/baselines/proxy.mjs with Fastify 5 (defaults,
// no logger, no hooks) in place of node:http. Measured against the bare proxy it shows what
// the framework itself costs per forwarded request, the floor under www's own work.
import process from 'node:process';
import { URL } from 'node:url';
import Fastify from 'fastify';
import { Pool } from 'undici';

const port = Number(process.env.PORT ?? 0);
const upstream = new URL(process.env.PROXY_BACKEND_URL ?? 'http://127.0.0.1:8081');
const pool = new Pool(upstream.origin, { connections: Number(process.env.PROXY_CONNECTIONS ?? 64), keepAliveTimeout: 30_000 });

const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
app.get('/', async (_request, reply) => {
  const answer = await pool.request({ path: '/', method: 'GET' });
  const text = await answer.body.text();
  return reply.code(answer.statusCode).type('text/plain; charset=utf-8').send(text);
});

await app.listen({ port, host: '127.0.0.1' });
const address = app.server.address();
const actual = typeof address === 'object' && address ? address.port : port;
process.stdout.write(`${JSON.stringify({ msg: 'ready', port: actual, url: `http://127.0.0.1:${actual}` })}\n`);

process.on('SIGTERM', () => app.close().then(() => pool.close()).then(() => process.exit(0)));
