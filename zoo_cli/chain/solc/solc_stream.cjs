// solc 0.8.20 for ezkl's create_evm_verifier, from npm (`solc0820@npm:solc@0.8.20`), offline.
// ezkl runs `$HOME/.svm/0.8.20/solc-0.8.20 --standard-json` with the request on a pipe; the
// stock `solcjs --standard-json` fails there with EAGAIN. This reads stdin as a stream,
// calls solc.compile() and writes the JSON answer. `--version` answers like native solc.
// SOLC0820 names the npm package folder (zoo_cli.chain.solcjs fills it in).
'use strict';
const path = require('path');
const solc = require(process.env.SOLC0820 || path.join(__dirname, "..", "..", "..", "node_modules", "solc0820"));

if (process.argv.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: 0.8.20+commit.a1b79de6.Linux.g++\n');
  process.exit(0);
}
if (!process.argv.includes('--standard-json')) {
  process.stderr.write('only --version and --standard-json are supported\n');
  process.exit(2);
}
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const out = solc.compile(Buffer.concat(chunks).toString('utf8'));
  process.stdout.write(out, () => process.exit(0));
});
process.stdin.on('error', (e) => { process.stderr.write(String(e) + '\n'); process.exit(1); });
