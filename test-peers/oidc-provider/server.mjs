// A real OAuth 2 / OpenID authorization server (npm oidc-provider) for Trestle's connection tests.
// Listens on 127.0.0.1 only. The tests play the browser: they follow the built-in devInteractions
// login and consent forms (any login and password are accepted).
//
// Callback URIs are registered for the per-service callback path Trestle uses
// (/api/v1/oauth/callback/<service key>) on the fixed public base URL the tests configure.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const issuer = process.env.ISSUER || `http://127.0.0.1:${port}`;
const callbackBase = process.env.CALLBACK_BASE || 'http://127.0.0.1:8787';
const callbackServiceKeys = ['oidc_test', 'oidc_test_post', 'oidc_test_other', 'zoho_books', 'bigin'];
const redirectUris = [
  `${callbackBase}/oauth/callback`,
  ...callbackServiceKeys.map((key) => `${callbackBase}/api/v1/oauth/callback/${key}`),
];
const allScopes = 'openid offline_access profile email crm.read crm.write';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'crm-connector',
      client_secret: 'crm-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      scope: allScopes,
    },
    {
      client_id: 'crm-connector-post',
      client_secret: 'crm-secret-post',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      scope: allScopes,
    },
    {
      client_id: 'crm-public',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
    },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'crm.read', 'crm.write'],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 120,
    AuthorizationCode: 60,
    RefreshToken: 3600,
    ClientCredentials: 120,
    IdToken: 120,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test` }),
  }),
  cookies: { keys: ['throwaway-cookie-key-for-tests-only'] },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider test peer listening, issuer ${issuer}`);
});
