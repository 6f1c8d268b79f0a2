'use strict';
// Nimbus Node.js runtime: drives one function instance over the Lambda Runtime API
// (or, started by Nimbus, over its faster runtime channel: see RuntimeChannel).
//
// Started by the server as `/usr/bin/node /var/runtime/node/bootstrap.js`.
// Written as CommonJS (see package.json beside it) because the CJS loader
// starts faster than the ESM one; user ES modules are loaded with import().
// Only Node built-ins are used.

const fs = require('fs');
const http = require('http');
const Module = require('module');
const net = require('net');
const path = require('path');
const util = require('util');

// A prepared instance (NIMBUS_HANDOVER_FD): Nimbus started this runtime before
// the instance had a request, and hands the instance's environment over on
// that fd once it has one (src/sandbox/sandbox.h, encode_handover): every
// "KEY=VALUE" NUL-terminated, then one more NUL. main() waits for it before
// configure() reads the environment; without a complete message the instance
// was discarded unused.
function receiveEnvironment(fd) {
  const chunks = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) chunks.push(Buffer.from(buf.subarray(0, n)));
  fs.closeSync(fd);
  const message = Buffer.concat(chunks).toString('utf8');
  const complete = message === '\0' || message.endsWith('\0\0');
  if (!complete) process.exit(0);
  const entries = message.slice(0, -1).split('\0').slice(0, -1);
  const handed = new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  for (const key of Object.keys(process.env)) if (!handed.has(key)) delete process.env[key];
  for (const [key, value] of handed) process.env[key] = value;
}
const API_PREFIX = '/2018-06-01/runtime';

// The instance's configuration, read from its environment by configure().
let env; // process.env once configured
let taskRoot;
let apiHost;
let apiPort;
let instanceInfo = {}; // the context fields that are the same for every invocation
let transport;

// `channel`: the runtime channel a prepared instance opened before its
// handover, kept if the environment names the same fds.
function configure(channel) {
  const channelFd = process.env.NIMBUS_RUNTIME_FD;
  delete process.env.NIMBUS_RUNTIME_FD; // not for the function's own child processes
  {
    // Layers' node_modules, like AWS's NODE_PATH. CommonJS reads NODE_PATH from
    // the real environment (getenv) and only at start-up, so it is set there,
    // before the copy below, and the search paths are re-initialised in main().
    // Layers are at /opt; with isolation off Nimbus names their host folder.
    const real = process.env;
    const opt = real.NIMBUS_OPT_DIR || '/opt';
    const major = process.versions.node.split('.')[0];
    const root = real.LAMBDA_TASK_ROOT || '/var/task';
    const nodePath = [`${opt}/nodejs/node${major}/node_modules`, `${opt}/nodejs/node_modules`, root];
    real.NODE_PATH = [real.NODE_PATH, ...nodePath].filter(Boolean).join(path.delimiter);
  }
  // process.env becomes a plain copy: each invocation sets _X_AMZN_TRACE_ID, and
  // on the real one that is a setenv(3), whose replaced values glibc never
  // frees (one leaked string per call, and every setenv slower as they pile
  // up). child_process passes process.env to children, so they still see it;
  // native code calling getenv() sees the values the instance started with.
  process.env = { ...process.env };
  env = process.env;
  taskRoot = env.LAMBDA_TASK_ROOT || '/var/task';
  const apiAddress = env.AWS_LAMBDA_RUNTIME_API || '';
  const separator = apiAddress.lastIndexOf(':');
  apiHost = apiAddress.slice(0, separator).replace(/^\[|\]$/g, '');
  apiPort = Number(apiAddress.slice(separator + 1));
  instanceInfo = {
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
  };
  if (!channelFd) transport = httpTransport;
  else transport = channel && channel.fds === channelFd ? channel : new RuntimeChannel(channelFd);
}

class RuntimeError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

// ---- Runtime API client ---------------------------------------------------

// One keep-alive connection for the whole life of the instance; idle sockets
// in the agent are unref'd, so they do not keep the event loop alive (which
// callbackWaitsForEmptyEventLoop relies on).
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function apiRequest(method, urlPath, body, headers, retried = false) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const req = http.request({
      host: apiHost, port: apiPort, method, path: API_PREFIX + urlPath, agent,
      headers: { ...headers, ...(payload ? { 'Content-Length': payload.length } : {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      // The server may close an idle keep-alive connection just as we reuse
      // it; such a request was never processed, so retry once on a new one.
      if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) {
        apiRequest(method, urlPath, body, headers, true).then(resolve, reject);
      } else {
        reject(err);
      }
    });
    req.end(payload);
  });
}

async function apiPost(urlPath, body, headers) {
  const res = await apiRequest('POST', urlPath, body, { 'Content-Type': 'application/json', ...headers });
  if (res.status < 200 || res.status > 299) {
    // Typically the invocation already timed out; nothing to retry.
    process.stderr.write(`[WARN] Runtime API ${urlPath} answered ${res.status}: ${res.body.slice(0, 200)}\n`);
  }
}

const httpTransport = {
  async next() {
    const res = await apiRequest('GET', '/invocation/next');
    if (res.status !== 200) throw new Error(`Runtime API /invocation/next answered ${res.status}: ${res.body.slice(0, 200)}`);
    return res;
  },
  respond: (requestId, body) => apiPost(`/invocation/${requestId}/response`, body),
  fail: (requestId, errorType, body) =>
    apiPost(`/invocation/${requestId}/error`, body, { 'Lambda-Runtime-Function-Error-Type': errorType }),
  initError: (errorType, body) => apiPost('/init/error', body, { 'Lambda-Runtime-Function-Error-Type': errorType }),
};

// Nimbus's own transport: length-prefixed frames over two inherited pipes,
// events in and results out (NIMBUS_RUNTIME_FD is "3,4"; format in
// src/faas/runtime_channel.h). One read per event and one write per result
// instead of a long poll, a POST and its acknowledgement. The event pipe is
// referenced only while waiting for an event, so that an invocation's event
// loop can still drain (callbackWaitsForEmptyEventLoop).
const EVENT_HEADERS = ['lambda-runtime-aws-request-id', 'lambda-runtime-deadline-ms',
  'lambda-runtime-invoked-function-arn', 'lambda-runtime-trace-id',
  'lambda-runtime-client-context', 'lambda-runtime-cognito-identity'];

class RuntimeChannel {
  constructor(fds) {
    this.fds = fds;
    const [inFd, outFd] = fds.split(',').map(Number);
    this.socket = new net.Socket({ fd: inFd, readable: true, writable: false });
    this.socket.unref();
    this.output = new net.Socket({ fd: outFd, readable: false, writable: true });
    this.output.unref();
    this.buffer = Buffer.alloc(0);
    this.waiting = null;
    this.asked = false;
    this.socket.on('data', (chunk) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.deliver();
    });
    this.socket.on('close', () => process.exit(0)); // the server is gone
  }

  deliver() {
    if (!this.waiting || this.buffer.length < 5) return;
    const length = this.buffer.readUInt32LE(0);
    if (this.buffer.length < 4 + length) return;
    const kind = this.buffer[4];
    const body = this.buffer.subarray(5, 4 + length);
    this.buffer = this.buffer.subarray(4 + length);
    const { resolve, reject } = this.waiting;
    this.waiting = null;
    this.socket.unref();
    if (kind !== 0x56 /* 'V' */) return reject(new Error(`runtime channel: unexpected frame ${kind}`));
    const headers = {};
    let start = 0;
    for (const name of EVENT_HEADERS) {
      const end = body.indexOf(0, start);
      if (end > start) headers[name] = body.toString('utf8', start, end);
      start = end + 1;
    }
    resolve({ status: 200, headers, body: body.toString('utf8', start) });
  }

  send(kind, ...fields) {
    const parts = [];
    fields.forEach((f, i) => {
      if (i) parts.push(Buffer.from([0]));
      parts.push(Buffer.from(f));
    });
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(5);
    head.writeUInt32LE(body.length + 1, 0);
    head.write(kind, 4, 'latin1');
    return new Promise((resolve) => this.output.write(Buffer.concat([head, body]), () => resolve()));
  }

  next() {
    if (!this.asked) { // afterwards, each result asks for the next event
      this.asked = true;
      this.send('N');
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.ref();
      this.deliver();
    });
  }

  respond(requestId, body) { return this.send('R', requestId, body); }
  fail(requestId, errorType, body) { return this.send('E', requestId, errorType, body); }
  initError(errorType, body) { return this.send('I', errorType, body); }
}

// ---- Logging ------------------------------------------------------------------

let currentRequestId; // printed as "undefined" outside an invocation, like AWS

// Same line format as AWS's Node runtime; newlines inside a message become \r
// so a multi-line message (e.g. a stack) stays one log event.
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE', fatal: 'FATAL' };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => {
      const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
      process.stdout.write(line.replace(/\n/g, '\r') + '\n');
    };
  }
}

// The server attributes log lines to the invocation in flight, so output must
// reach the pipe before the result is posted. A write callback fires only
// once everything queued before it has been handed to the OS.
function flushOutput() {
  return Promise.all([process.stdout, process.stderr].map((stream) =>
    stream.writableLength === 0 ? undefined : new Promise((resolve) => stream.write('', resolve))));
}

// ---- Errors -------------------------------------------------------------------

// Same shape as AWS's Node runtime, which names the stack "trace".
function errorPayload(err) {
  if (err instanceof Error || (err && typeof err === 'object' && typeof err.stack === 'string')) {
    return {
      errorType: err.name || (err.constructor && err.constructor.name) || 'Error',
      errorMessage: String(err.message),
      trace: String(err.stack || '').split('\n'),
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

// Logs the error as AWS does, then reports it for `requestId` (or init, when null).
async function postError(requestId, err, logPrefix) {
  const payload = errorPayload(err);
  const { errorType, errorMessage, trace } = payload;
  console.error(logPrefix, '\t' + JSON.stringify({ errorType, errorMessage, stack: trace }));
  await flushOutput();
  const body = JSON.stringify(payload);
  await (requestId == null ? transport.initError(errorType, body) : transport.fail(requestId, errorType, body));
}

// ---- Loading the handler ------------------------------------------------------------

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// A .js file is an ES module when the nearest package.json says "type": "module".
function isESModule(file) {
  if (file.endsWith('.mjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (isFile(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    if (dir === path.dirname(dir)) return false;
  }
}

// `dir/file.export.nested` -> module dir/file(.js|.mjs|.cjs) under `root`, then
// the export path.
async function loadHandler(handlerString, root = taskRoot) {
  const slash = handlerString.lastIndexOf('/');
  const moduleAndPath = handlerString.slice(slash + 1);
  const dot = moduleAndPath.indexOf('.');
  if (dot < 1 || dot === moduleAndPath.length - 1) {
    throw new RuntimeError('Runtime.MalformedHandlerName', `Bad handler ${handlerString}`);
  }
  const moduleName = moduleAndPath.slice(0, dot);
  const base = path.resolve(root, handlerString.slice(0, slash + 1), moduleName);
  const file = ['', '.js', '.mjs', '.cjs'].map((ext) => base + ext).find(isFile);
  if (!file) {
    throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }
  let userModule;
  try {
    userModule = isESModule(file) ? await import(require('url').pathToFileURL(file).href) : require(file);
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new RuntimeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`);
    }
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeError('Runtime.ImportModuleError', `${err.name}: ${err.message}`);
    }
    throw err;
  }
  const handler = moduleAndPath.slice(dot + 1).split('.').reduce((obj, key) => (obj == null ? undefined : obj[key]), userModule);
  if (handler === undefined) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  }
  if (typeof handler !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  }
  return handler;
}

// ---- Invocations ----------------------------------------------------------------

// Called when the event loop has nothing left to do (process 'beforeExit').
let onEventLoopEmpty = null;
process.on('beforeExit', () => {
  const callback = onEventLoopEmpty;
  onEventLoopEmpty = null;
  if (callback) callback();
});

// Runs the handler with AWS's completion semantics; resolves to {result} or {error}:
// - a returned promise settles the invocation;
// - callback(err, result) settles it once the event loop is empty, unless
//   context.callbackWaitsForEmptyEventLoop was set to false;
// - context.done/succeed/fail settle it at once;
// - a handler that never completes yields a null result once the loop empties.
function runHandler(handler, event, headers) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome) => {
      if (settled) return;
      settled = true;
      onEventLoopEmpty = null;
      resolve(outcome);
    };
    onEventLoopEmpty = () => settle({ result: null });

    const deadline = Number(headers['lambda-runtime-deadline-ms']);
    const done = (err, result) => settle(err != null ? { error: err } : { result });
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: instanceInfo.functionName,
      functionVersion: instanceInfo.functionVersion,
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      memoryLimitInMB: instanceInfo.memoryLimitInMB,
      awsRequestId: headers['lambda-runtime-aws-request-id'],
      logGroupName: instanceInfo.logGroupName,
      logStreamName: instanceInfo.logStreamName,
      identity: parseOptionalJson(headers['lambda-runtime-cognito-identity']),
      clientContext: parseOptionalJson(headers['lambda-runtime-client-context']),
      getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
      done,
      succeed: (result) => done(null, result),
      fail: (err) => done(err == null ? 'handled' : err),
    };
    const callback = (err, result) => {
      if (err != null || !context.callbackWaitsForEmptyEventLoop) {
        done(err, result);
      } else {
        onEventLoopEmpty = () => done(null, result);
      }
    };

    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === 'function') {
        returned.then((result) => done(null, result), (err) => done(err == null ? 'handled' : err));
      }
    } catch (err) {
      done(err);
    }
  });
}

function parseOptionalJson(text) {
  return text ? JSON.parse(text) : undefined;
}

async function invoke(handler, next) {
  const requestId = next.headers['lambda-runtime-aws-request-id'];
  currentRequestId = requestId;
  if (next.headers['lambda-runtime-trace-id']) {
    env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
  } else {
    delete env._X_AMZN_TRACE_ID;
  }

  let outcome;
  try {
    outcome = await runHandler(handler, next.body ? JSON.parse(next.body) : {}, next.headers);
  } catch (err) {
    outcome = { error: new RuntimeError('Runtime.UnmarshalError', `Unable to parse input as JSON: ${err.message}`) };
  }
  let body;
  if (!('error' in outcome)) {
    try {
      body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
    } catch (err) {
      outcome = { error: new Error(`Unable to stringify response body: ${err.message}`) };
    }
  }
  if ('error' in outcome) {
    await postError(requestId, outcome.error, 'Invoke Error');
  } else {
    await flushOutput();
    await transport.respond(requestId, body);
  }
}

// ---- Main loop ------------------------------------------------------------------

let initDone = false;
let invocationInFlight = null;

// An error escaping the handler's promise chain or callbacks: fail the
// invocation (or init) and exit, as AWS does; the server starts a new instance.
async function crash(err, logPrefix) {
  try {
    if (!initDone) {
      await postError(null, err, logPrefix);
    } else if (invocationInFlight) {
      await postError(invocationInFlight, err, logPrefix);
    } else {
      console.error(logPrefix, '\t' + JSON.stringify(errorPayload(err)));
      await flushOutput();
    }
  } finally {
    process.exit(129);
  }
}

process.on('uncaughtException', (err) => crash(err, 'Uncaught Exception'));
process.on('unhandledRejection', (reason) => {
  const err = reason instanceof Error ? reason : new RuntimeError('Runtime.UnhandledPromiseRejection', String(reason));
  crash(err, 'Unhandled Promise Rejection');
});

// A prepared instance, before it waits for its environment: runs once what
// every instance's init and first invocation would run for the first time,
// and Node compile then (it compiles lazily): the runtime channel (the
// instance's own pipes; kept), the module loader and an invocation of
// warm.js beside this file, JSON, the console's formatting, the stdout
// streams (also the instance's own). Nothing is written. Returns the channel.
async function warmUp() {
  const channelFd = process.env.NIMBUS_RUNTIME_FD;
  const channel = channelFd ? new RuntimeChannel(channelFd) : undefined;
  if (channel) {
    // Its framing, on an event of our own, and its write path, with nothing to write.
    const body = Buffer.from('warm-up\x000\0\0\0\0\0{}');
    const head = Buffer.alloc(5);
    head.writeUInt32LE(body.length + 1, 0);
    head[4] = 0x56; // 'V'
    channel.buffer = Buffer.concat([head, body]);
    await new Promise((resolve, reject) => {
      channel.waiting = { resolve, reject };
      channel.deliver();
    });
    channel.output.write(Buffer.alloc(0));
  }
  Module._initPaths();
  void { ...process.env };
  // The invoke path, against a transport that sends nothing.
  const handler = await loadHandler('warm.handler', __dirname);
  const quiet = { respond: async () => {}, fail: async () => {}, initError: async () => {} };
  [transport, env] = [quiet, {}];
  await invoke(handler, { headers: { 'lambda-runtime-aws-request-id': 'warm-up', 'lambda-runtime-deadline-ms': '0' }, body: '{"warm":[1,"a",null]}' });
  [transport, env, currentRequestId] = [undefined, undefined, undefined];
  util.format('%s %j', 'warm', [1]);
  new Date().toISOString();
  return channel;
}

async function main() {
  let channel;
  const prepared = process.env.NIMBUS_HANDOVER_FD !== undefined;
  if (prepared) {
    channel = await warmUp();
    receiveEnvironment(Number(process.env.NIMBUS_HANDOVER_FD));
  }
  configure(channel);
  // Nimbus's prepared runtime got the function's code mounted over /var/task
  // after it started there: the working directory is the empty one beneath.
  if (prepared) process.chdir(taskRoot);
  patchConsole();
  Module._initPaths(); // with NODE_PATH as set by configure()

  const handler = await loadHandler(env._HANDLER || '');
  initDone = true;
  for (;;) {
    const next = await transport.next();
    invocationInFlight = next.headers['lambda-runtime-aws-request-id'];
    await invoke(handler, next);
    invocationInFlight = null;
  }
}

main().catch((err) => crash(err, 'Uncaught Exception'));
