// node peer: iod's job with Node.js's net module, one event loop.
//
// usage: node node.js PORT [upper|echo]
//
// Listens on 127.0.0.1:PORT (0 picks a port) and prints
// "node: listening on 127.0.0.1:PORT" to stderr.
'use strict';
const net = require('net');

const port = Number(process.argv[2] || 0);
const echo = process.argv[3] === 'echo';

// Upper-case a-z in place; every other byte stays as it is.
function upper(buf) {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] >= 0x61 && buf[i] <= 0x7a) buf[i] -= 0x20;
  }
  return buf;
}

// allowHalfOpen: the client's EOF must not end our side before we have
// sent back everything we owe; we end it ourselves on 'end'.
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    // write() returns false once the socket's buffer is over its limit:
    // stop reading until it has drained.
    if (!socket.write(echo ? chunk : upper(chunk))) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  socket.on('end', () => socket.end());   // flushes, then sends FIN
  socket.on('error', () => socket.destroy());
});

server.listen(port, '127.0.0.1', 4096, () => {
  console.error(`node: listening on 127.0.0.1:${server.address().port}`);
});
