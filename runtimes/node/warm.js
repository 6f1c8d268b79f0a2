'use strict';
// What a prepared instance loads and calls before its handover (bootstrap.js,
// warmUp()), so that the loader and the invoke path are compiled before the
// instance's real handler needs them.
exports.handler = async (event) => event;
