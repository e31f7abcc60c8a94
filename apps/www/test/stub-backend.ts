import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the stub does with one request. */
export type Behaviour =
  | 'time'
  | 'timeInParts'
  | 'oversized'
  | 'error500'
  | 'error200'
  | 'status404'
  | 'hang'
  /** Close the connection after reading the request, answering nothing. */
  | 'reset'
  /** Close the connection 1600 ms after reading the request, answering nothing. */
  | 'resetLate'
  /** Send the response head and part of the body, then close the connection. */
  | 'resetMidBody';

/**
 * A scriptable backend on a real loopback socket: each request takes the next behaviour
 * from the script (the last one repeats), and its headers are recorded.
 */
export class StubBackend {
  readonly requests: IncomingHttpHeaders[] = [];
  /** The client's port of the connection each request came on: the same one twice is a reused keep-alive connection. */
  readonly connections: number[] = [];
  #script: Behaviour[];
  #server: Server;
  #port = 0;
  #resetConnections = 0;

  private constructor(script: Behaviour[]) {
    this.#script = script;
    this.#server = createServer((req, res) => {
      this.requests.push(req.headers);
      this.connections.push(req.socket.remotePort ?? 0);
      const behaviour = this.#script.length > 1 ? (this.#script.shift() as Behaviour) : (this.#script[0] ?? 'time');
      switch (behaviour) {
        case 'time':
          res.writeHead(200, { 'content-type': 'text/plain', 'x-castle-instance': 'stub-1' }).end('Monday, 02-Jan-06 15:04:05 UTC');
          return;
        case 'timeInParts': {
          // The same answer in three writes, apart in time, so the client reads it in pieces.
          const parts = ['Monday, 02-Jan-06 ', '15:04:05', ' UTC'];
          res.writeHead(200, { 'content-type': 'text/plain', 'x-castle-instance': 'stub-1' });
          const next = () => {
            const part = parts.shift();
            if (parts.length === 0) res.end(part);
            else {
              res.write(part);
              setTimeout(next, 5);
            }
          };
          next();
          return;
        }
        case 'oversized':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(100 * 1024));
          return;
        case 'error500':
          res.writeHead(500).end('ERROR');
          return;
        case 'error200':
          res.writeHead(200).end('ERROR');
          return;
        case 'status404':
          res.writeHead(404).end('not found');
          return;
        case 'hang':
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'resetLate':
          setTimeout(() => req.socket.destroy(), 1600);
          return;
        case 'resetMidBody':
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '30' });
          res.write('Monday, ', () => req.socket.destroy());
          return;
      }
    });
    this.#server.on('connection', (socket: Socket) => {
      if (this.#resetConnections > 0) {
        this.#resetConnections -= 1;
        socket.resetAndDestroy();
      }
    });
  }

  static async start(script: Behaviour[] = ['time']): Promise<StubBackend> {
    const stub = new StubBackend(script);
    stub.#server.listen(0, '127.0.0.1');
    await once(stub.#server, 'listening');
    stub.#port = (stub.#server.address() as AddressInfo).port;
    return stub;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** Resets (TCP RST) the next `count` connections as soon as they are accepted, before reading a byte. */
  resetNextConnections(count: number): void {
    this.#resetConnections = count;
  }

  /** Listens again, on the same port, after `stop`. */
  async restart(): Promise<void> {
    this.#server.listen(this.#port, '127.0.0.1');
    await once(this.#server, 'listening');
  }

  /** Replaces the script for the requests to come. */
  script(next: Behaviour[]): void {
    this.#script = next;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }
}
