// Drives @uploadcare/rest-client, unmodified, against a Filedock server.
// Job (JSON on stdin): {apiBase, publicKey, secretKey, auth: 'signed' | 'simple', calls: [{id, call, args}]}.
// `call` names one of the client's exported functions (listOfFiles, storeFile, ...), called as
// fn(args, settings); `iterate` walks every page of listOfFiles with the client's `paginate`, and
// `iterate:<name>` every page of that function (searchFiles).
// Prints one JSON object: {id: {ok: true, result} | {ok: false, error}} for each call, in order.
import { readFileSync } from 'node:fs'
import * as rest from '@uploadcare/rest-client'

const job = JSON.parse(readFileSync(0, 'utf8'))
const keys = { publicKey: job.publicKey, secretKey: job.secretKey }
const settings = {
  apiBaseURL: job.apiBase, // the client keeps only its origin: request paths start at '/'
  authSchema: job.auth === 'simple' ? new rest.UploadcareSimpleAuthSchema(keys) : new rest.UploadcareAuthSchema(keys),
  retryNetworkErrorMaxTimes: 0,
}

async function iterate(options, paginatable = rest.listOfFiles) {
  const pages = []
  for await (const page of rest.paginate(paginatable)(options, settings)) pages.push(page)
  return pages
}

const describe = (error) => ({
  name: error.name, message: error.message, status: error.response?.status, errors: error.errors,
})

const results = {}
for (const { id, call, args = {} } of job.calls) {
  try {
    const result = call === 'iterate'
      ? await iterate(args)
      : call.startsWith('iterate:') ? await iterate(args, rest[call.slice('iterate:'.length)]) : await rest[call](args, settings)
    results[id] = { ok: true, result: result === undefined ? null : result }
  } catch (error) {
    results[id] = { ok: false, error: describe(error) }
  }
}
process.stdout.write(JSON.stringify(results))
