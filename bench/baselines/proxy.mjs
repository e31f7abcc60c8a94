// The floor for scenario 2: a bare reverse proxy, node:http in front of an undici keep-alive
// pool, with the same pool size as www's default (WWW_BACKEND_CONNECTIONS=64). No logging,
// no limiter, no retries: what forwarding one GET costs in Node and nothing more.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';
import { URL } from 'node:url';
import { Pool } from 'undici';

const port = Number(process.env.PORT ?? 0);
const upstream = new URL(process.env.PROXY_BACKEND_URL ?? 'http://127.0.0.1:8081');
const pool = new Pool(upstream.origin, { connections: Number(process.env.PROXY_CONNECTIONS ?? 64), keepAliveTimeout: 30_000 });

const server = createServer((req, res) => {
  pool.request({ path: req.url ?? '/', method: 'GET' }).then(
    async (answer) => {
      const text = await answer.body.text();
      res.writeHead(answer.statusCode, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
    () => {
      res.writeHead(502).end();
    },
  );
});
server.keepAliveTimeout = 65_000;

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ msg: 'ready', port: actual, url: `http://127.0.0.1:${actual}` })}\n`);
});

process.on('SIGTERM', () => server.close(() => pool.close().then(() => process.exit(0))));
