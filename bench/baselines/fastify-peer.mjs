// The backend's contract written the way a Node developer would: Fastify 5 with its default
// request logging (`logger: true`: pino, JSON lines to stdout, an incoming and a completed
// line per request) and fastify-metrics (prom-client request-duration metrics per route,
// method and status, and the process metrics, on /metrics). GET / answers the current UTC
// time in RFC 850 layout, uncached, as plain text with `cache-control: no-store`.
import process from 'node:process';
import Fastify from 'fastify';
import metricsPlugin from 'fastify-metrics';

const port = Number(process.env.PORT ?? 0);
const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n) => String(n).padStart(2, '0');

function rfc850(d) {
  const date = `${two(d.getUTCDate())}-${months[d.getUTCMonth()]}-${two(d.getUTCFullYear() % 100)}`;
  return `${days[d.getUTCDay()]}, ${date} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`;
}

const app = Fastify({ logger: true, keepAliveTimeout: 65_000 });
await app.register(metricsPlugin, { endpoint: '/metrics' });
app.get('/', (_request, reply) => reply.header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(rfc850(new Date())));

await app.listen({ port, host: '127.0.0.1' });
const address = app.server.address();
const actual = typeof address === 'object' && address ? address.port : port;
// The same ready line as Castle's services (Fastify's own "Server listening" line says the
// same in prose), so the bench starts every server the same way.
app.log.info({ port: actual, url: `http://127.0.0.1:${actual}` }, 'ready');

process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
