// Drives tus-js-client, unmodified, against a Filedock server.
// Job (JSON on stdin): {endpoint, path, metadata, chunkSize, uploadUrl?, abortAfter?}.
// With abortAfter (bytes), the upload is aborted once that much is acknowledged; with uploadUrl
// it resumes that upload. Prints {url, offset} or {error}.
import { readFileSync } from 'node:fs'
import * as tus from 'tus-js-client'

const job = JSON.parse(readFileSync(0, 'utf8'))
const data = readFileSync(job.path)

const result = await new Promise((resolve) => {
  const upload = new tus.Upload(data, {
    endpoint: job.endpoint,
    uploadUrl: job.uploadUrl || null,
    metadata: job.metadata,
    chunkSize: job.chunkSize,
    retryDelays: null,
    onError: (error) => resolve({ error: String(error) }),
    onChunkComplete: (_chunk, accepted) => {
      if (job.abortAfter && accepted >= job.abortAfter) {
        upload.abort().then(() => resolve({ url: upload.url, offset: accepted, aborted: true }))
      }
    },
    onSuccess: () => resolve({ url: upload.url, offset: data.length }),
  })
  upload.start()
})
process.stdout.write(JSON.stringify(result))
