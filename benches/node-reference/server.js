// The Node reference for benches/load.sh: Tencent's signature-distribution sample
// (createFileUploadSignature, from the VOD docs page in shared/seed/) served the obvious way a Node
// user writes it: Express, `jsonwebtoken` for the bearer token, one process.
//
// Changes to the published function, none affecting its cost: `this.conf` is a module constant
// and the deprecated `new Buffer` is `Buffer.from`.
//
// Environment: PORT, JWT_HS256_SECRET, VOD_SECRET_ID, VOD_SECRET_KEY.
'use strict';

const crypto = require('crypto');
const querystring = require('querystring');
const express = require('express');
const jwt = require('jsonwebtoken');

const conf = { SecretId: process.env.VOD_SECRET_ID, SecretKey: process.env.VOD_SECRET_KEY };
const jwtSecret = process.env.JWT_HS256_SECRET;

/**
 * Calculate a signature
 */
function createFileUploadSignature({ timeStamp = 86400, procedure = '', classId = 0, oneTimeValid = 0, sourceContext = '' }) {
  // Determine the current time and expiration time of the signature
  let current = parseInt((new Date()).getTime() / 1000);
  let expired = current + timeStamp; // Signature validity period: 1 day
  // Enter the parameters into the parameter list
  let arg_list = {
    //required
    secretId: conf.SecretId,
    currentTimeStamp: current,
    expireTime: expired,
    random: Math.round(Math.random() * Math.pow(2, 32)),
    //opts
    procedure,
    classId,
    oneTimeValid,
    sourceContext
  };
  // Calculate the signature
  let orignal = querystring.stringify(arg_list);
  let orignal_buffer = Buffer.from(orignal, "utf8");
  let hmac = crypto.createHmac("sha1", conf.SecretKey);
  let hmac_buffer = hmac.update(orignal_buffer).digest();
  let signature = Buffer.concat([hmac_buffer, orignal_buffer]).toString("base64");
  return signature;
}

const app = express();
app.use(express.json());

app.get('/healthz', (req, res) => {
  res.json({ code: 0, message: 'ok' });
});

/**
 * Respond to a signature request, for a caller holding a valid token with the upload scope
 */
app.post('/v1/upload-signature', (req, res) => {
  const authorization = req.headers.authorization || '';
  const token = authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
  let claims;
  try {
    claims = jwt.verify(token, jwtSecret, { algorithms: ['HS256'] });
  } catch (err) {
    return res.status(401).json({ code: 401, error: 'invalid_token', message: err.message });
  }
  if (!String(claims.scope || '').split(' ').includes('vod:upload')) {
    return res.status(403).json({ code: 403, error: 'insufficient_scope', message: 'no upload scope' });
  }
  res.json({
    code: 0,
    message: 'ok',
    data: {
      signature: createFileUploadSignature({})
    }
  });
});

app.listen(Number(process.env.PORT));
