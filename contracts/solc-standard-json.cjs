// Standard-JSON front end for solc-js (npm `solc`). The stock `solcjs --standard-json`
// exits before a piped stdout is flushed (output cut at 64 KiB) and can hit EAGAIN on
// stdin; this reads stdin to the end, compiles, and writes synchronously.
// Imports not given inline are resolved against the contracts folder and node_modules.
'use strict';
const fs = require('fs');
const path = require('path');
// SOLCJS points at the npm package's solc.js CLI; the library is its folder's index.js.
const solc = require(path.dirname(process.env.SOLCJS || path.join(__dirname, '..', 'node_modules', 'solc', 'solc.js')));

if (process.argv.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

const roots = [__dirname, path.join(__dirname, '..', 'node_modules'), path.join(__dirname, '..')];
function findImports(p) {
  for (const root of roots) {
    const full = path.resolve(root, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: `File not found: ${p}` };
}

const chunks = [];
let fd = 0;
const buf = Buffer.alloc(1 << 16);
for (;;) {
  let n;
  try {
    n = fs.readSync(fd, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === 'EAGAIN') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); continue; }
    if (e.code === 'EOF') break;
    throw e;
  }
  if (n === 0) break;
  chunks.push(Buffer.from(buf.subarray(0, n)));
}
const out = solc.compile(Buffer.concat(chunks).toString('utf8'), { import: findImports });
const data = Buffer.from(out, 'utf8');
let off = 0;
while (off < data.length) {
  try {
    off += fs.writeSync(1, data, off, data.length - off);
  } catch (e) {
    if (e.code !== 'EAGAIN') throw e;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}
