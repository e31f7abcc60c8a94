import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the stub does with one request. */
export type Behaviour = 'time' | 'timeInParts' | 'oversized' | 'error500' | 'error200' | 'status404' | 'hang' | 'reset';

/**
 * A scriptable backend on a real loopback socket: each request takes the next behaviour
 * from the script (the last one repeats), and its headers are recorded.
 */
export class StubBackend {
  readonly requests: IncomingHttpHeaders[] = [];
  #script: Behaviour[];
  #server: Server;

  private constructor(script: Behaviour[]) {
    this.#script = script;
    this.#server = createServer((req, res) => {
      this.requests.push(req.headers);
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
      }
    });
  }

  static async start(script: Behaviour[] = ['time']): Promise<StubBackend> {
    const stub = new StubBackend(script);
    stub.#server.listen(0, '127.0.0.1');
    await once(stub.#server, 'listening');
    return stub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
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
