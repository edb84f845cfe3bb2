// A real OpenID Connect provider (panva's oidc-provider) for the single sign-on tests.
// Argv: port, then a JSON config {clientId, clientSecret, redirectUri}. Any login name is an
// account whose email is that name, verified; the password is not checked (dev interactions).
import Provider from 'oidc-provider'

const [port, raw] = process.argv.slice(2)
const config = JSON.parse(raw)
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: config.clientId,
      client_secret: config.clientSecret,
      redirect_uris: [config.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, email: id, email_verified: true, name: id.split('@')[0] }),
  }),
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => false },
})
provider.proxy = false
provider.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'))
