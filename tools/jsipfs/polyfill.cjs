// Node 20 lacks Promise.withResolvers (used by it-queue inside js-ipfs); preload with
// NODE_OPTIONS="--require /abs/path/polyfill.cjs".
if (!Promise.withResolvers) {
  Promise.withResolvers = () => {
    let resolve, reject
    const promise = new Promise((a, b) => { resolve = a; reject = b })
    return { promise, resolve, reject }
  }
}
