// Independent UnixFS CID oracle for zoo's storage tests.
// Uses the npm ipfs-unixfs-importer + blockstore-core (the JS IPFS stack), with the options
// that match `ipfs add --cid-version=1 --raw-leaves` on Kubo (256 KiB fixed chunks, balanced
// DAG, 174 links per node).
//
//   node tools/cid_oracle.mjs file PATH...   -> JSON array of CIDs, one per file
//   node tools/cid_oracle.mjs dir DIR        -> JSON {"cid": ...} of DIR imported as a directory
import { importer } from 'ipfs-unixfs-importer'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { createReadStream, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const options = { cidVersion: 1, rawLeaves: true }

async function last (source) {
  let out
  for await (const entry of source) out = entry
  return out
}

function walk (dir, base, out) {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) walk(full, base, out)
    else out.push({ path: relative(base, full), content: createReadStream(full) })
  }
  return out
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'file') {
  const cids = []
  for (const path of args) {
    const entry = await last(importer([{ content: createReadStream(path) }], new MemoryBlockstore(), options))
    cids.push(entry.cid.toString())
  }
  console.log(JSON.stringify(cids))
} else if (mode === 'dir') {
  const entries = walk(args[0], args[0], [])
  const root = await last(importer(entries, new MemoryBlockstore(), { ...options, wrapWithDirectory: true }))
  console.log(JSON.stringify({ cid: root.cid.toString() }))
} else {
  console.error('usage: cid_oracle.mjs file PATH... | dir DIR')
  process.exit(2)
}
