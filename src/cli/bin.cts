#!/usr/bin/env node
// The `jwt-refresh` executable: sizes libuv's thread pool, then runs the CLI (main.ts).
//
// CommonJS on purpose. libuv reads UV_THREADPOOL_SIZE once, when the pool starts, and on
// Node 20 loading any ES module starts it (the loader reads files through the pool), so an
// ES entry point would set the variable too late. This file is read synchronously.
//
// Why a bigger pool: the pool runs password hashing (scrypt, argon2) and also what every
// token route needs (WebCrypto signing and verification, fs, dns.lookup). Login hashing is
// bounded to `passwordHashing.concurrency` checks, by default cores − 1 and at most pool − 2
// (docs/passwords.md). With the default pool of 4, a 16-core server could hash only 2
// passwords at once; with cores + 1 threads it uses its cores − 1 and still keeps 2 threads
// free for the token routes. An operator's own UV_THREADPOOL_SIZE is left alone.
import os = require('node:os');

if (process.env.UV_THREADPOOL_SIZE === undefined || process.env.UV_THREADPOOL_SIZE === '') {
  process.env.UV_THREADPOOL_SIZE = String(Math.max(4, os.availableParallelism() + 1));
}
void import('./main.js');
