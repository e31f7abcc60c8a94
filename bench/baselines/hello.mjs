// The floor for scenario 1: the cheapest useful node:http server, no framework, no logging.
// Prints the same `ready` line as the Castle services so the bench starts it the same way.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';

const port = Number(process.env.PORT ?? 0);
const body = 'hello world\n';

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ msg: 'ready', port: actual, url: `http://127.0.0.1:${actual}` })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
