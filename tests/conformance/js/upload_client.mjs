// Drives @uploadcare/upload-client, unmodified, against a Filedock server.
// Job (JSON on stdin): {uploadBase, cdnBase, publicKey, settings?, calls: [{id, call, args}]}.
// Prints one JSON object: {id: {ok: true, result} | {ok: false, error}} for each call, in order.
import { readFileSync } from 'node:fs'
import { UploadClient } from '@uploadcare/upload-client'

const job = JSON.parse(readFileSync(0, 'utf8'))
const client = new UploadClient({
  publicKey: job.publicKey,
  baseURL: job.uploadBase, // the client appends '/base/', '/info/', ... to the base's path
  baseCDN: job.cdnBase, // the client appends '{uuid}/': give it with the trailing slash
  retryNetworkErrorMaxTimes: 0,
  ...job.settings,
})

const calls = {
  // a local file; multipart once its size reaches the `multipartMinFileSize` option
  upload: ({ path, ...options }) => client.uploadFile(readFileSync(path), options),
  fromUrl: ({ url, ...options }) => client.uploadFile(url, options),
  info: ({ uuid }) => client.info(uuid),
  group: ({ uuids }) => client.uploadFileGroup(uuids),
  groupInfo: ({ id }) => client.groupInfo(id),
}

const describe = (error) => ({
  name: error.name, message: error.message, code: error.code, response: error.response,
})

const results = {}
for (const { id, call, args = {} } of job.calls) {
  try {
    results[id] = { ok: true, result: JSON.parse(JSON.stringify(await calls[call](args))) }
  } catch (error) {
    results[id] = { ok: false, error: describe(error) }
  }
}
process.stdout.write(JSON.stringify(results))
process.exit(0) // the from-URL push strategy may leave a websocket open
