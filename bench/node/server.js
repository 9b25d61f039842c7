// Node.js `ws` peer for the wirehub benchmarks (started by `wirehub-bench`).
//
//   PORT=8000 node server.js
//
// /echo: every text and binary message echoed back unchanged (same kind).
// /room: one room; every message reaches every other connection on /room
//        unchanged (same kind, same bytes), the sender excluded.
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.env.PORT || 8000);
const maxPayload = 16 * 1024 * 1024;
const echo = new WebSocketServer({ noServer: true, maxPayload });
const room = new WebSocketServer({ noServer: true, maxPayload });

echo.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

room.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const peer of room.clients) {
      if (peer !== ws && peer.readyState === 1) peer.send(data, { binary: isBinary });
    }
  });
  ws.on('error', () => {});
});

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'content-type': 'text/plain' });
  res.end('WebSocket only\n');
});

server.on('upgrade', (req, socket, head) => {
  socket.setNoDelay(true);
  const path = req.url.split('?')[0];
  const wss = path === '/echo' ? echo : path === '/room' ? room : null;
  if (!wss) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

server.listen({ port, host: '127.0.0.1', backlog: 1024 }, () => {
  console.log(`node ws server on ws://127.0.0.1:${port}/echo and /room`);
});
