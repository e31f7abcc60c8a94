// Fastify alone: the hello world of bench/baselines/hello.mjs served by Fastify 5 with its
// defaults and no logger, no hooks, no plugins. Measured against the bare node:http server it
// shows what the framework itself costs, the floor under Castle's own per-request work.
import process from 'node:process';
import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 0);
const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
app.get('/', (_request, reply) => reply.type('text/plain; charset=utf-8').send('hello world\n'));

await app.listen({ port, host: '127.0.0.1' });
const address = app.server.address();
const actual = typeof address === 'object' && address ? address.port : port;
process.stdout.write(`${JSON.stringify({ msg: 'ready', port: actual, url: `http://127.0.0.1:${actual}` })}\n`);

process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
