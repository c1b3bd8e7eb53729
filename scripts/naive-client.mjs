// The vendor sample's approach, for the benchmark only: poll every second, read the whole download
// into memory (response.blob()), then write it out. Not used by the action.
// Usage: node naive-client.mjs <baseUrl> <user> <password> <outFile>   (trust via NODE_EXTRA_CA_CERTS)
import { writeFile } from 'node:fs/promises'

const [baseUrl, username, password, outFile] = process.argv.slice(2)
const clientId = 'public-api'
const clientSecret = 'ff99971a-f8c3-4d21-5345-f7cb021b4b54'
const sleep = ms => new Promise(r => setTimeout(r, ms))

async function fetchOk(url, init) {
  const response = await fetch(url, init)
  if (!response.ok) throw new Error(`${init.method} ${url}: ${response.status}`)
  return response
}

const auth = await fetchOk(`${baseUrl}/v1/oauth2/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: `grant_type=password&username=${username}&password=${password}&client_id=${clientId}&client_secret=${clientSecret}`
})
const token = (await auth.json()).access_token
const headers = { Accept: 'application/json', authorization: `Bearer ${token}` }
let e = await (await fetchOk(`${baseUrl}/v1/order`, { method: 'POST', headers, body: JSON.stringify({ exportContents: { projectTree: {} } }) })).json()
do {
  await sleep(1000)
  e = await (await fetchOk(`${baseUrl}/v1/order/${e.name}`, { method: 'GET', headers })).json()
} while (!e.done)
const started = performance.now()
const blob = await (await fetchOk(`${baseUrl}/v1/order/${e.name}/download`, { method: 'GET', headers })).blob()
await writeFile(outFile, Buffer.from(await blob.arrayBuffer()))
console.log(JSON.stringify({ downloadMs: performance.now() - started, bytes: blob.size }))
