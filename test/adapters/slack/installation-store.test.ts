import { type Installation, InstallProvider } from '@slack/oauth';
import { describe, expect, it } from 'vitest';
import { botTokenOf, RedisInstallationStore } from '../../../adapters/slack/installation-store.ts';
import { useRedis } from '../../support/redis.ts';

const redisFixture = useRedis();

const freshStore = () => {
  const prefix = redisFixture.prefix();
  return { prefix, store: new RedisInstallationStore(redisFixture.redis, prefix) };
};

// The shape Slack's InstallProvider hands to storeInstallation after an oauth.v2.access exchange.
const workspaceInstall = (teamId = 'T1', token = 'xoxb-1'): Installation => ({
  team: { id: teamId, name: 'Acme' },
  enterprise: undefined,
  user: { id: 'U1', token: undefined, scopes: undefined },
  bot: { token, scopes: ['chat:write'], id: 'B1', userId: 'UBOT' },
  tokenType: 'bot',
  isEnterpriseInstall: false,
  appId: 'A1',
  authVersion: 'v2',
});

const orgInstall = (): Installation<'v2', true> => ({
  team: undefined,
  enterprise: { id: 'E1', name: 'Acme Org' },
  user: { id: 'U1', token: undefined, scopes: undefined },
  bot: { token: 'xoxb-org', scopes: ['chat:write'], id: 'B2', userId: 'UBOT2' },
  tokenType: 'bot',
  isEnterpriseInstall: true,
  appId: 'A1',
  authVersion: 'v2',
  enterpriseUrl: 'https://acme.enterprise.slack.com/',
});

const teamQuery = (teamId: string) => ({ teamId, enterpriseId: undefined, isEnterpriseInstall: false });

describe('RedisInstallationStore', () => {
  it('stores a workspace install and fetches it back whole', async () => {
    const { prefix, store } = freshStore();
    await store.storeInstallation(workspaceInstall());

    const fetched = await store.fetchInstallation(teamQuery('T1'));
    expect(fetched).toEqual(JSON.parse(JSON.stringify(workspaceInstall())));
    expect(fetched.bot?.token).toBe('xoxb-1');
    expect(await redisFixture.redis.hkeys(`${prefix}slack:installations`)).toEqual(['team:T1']);
  });

  it('fetches an org-wide install by enterprise id, for any workspace in the org', async () => {
    const { prefix, store } = freshStore();
    await store.storeInstallation(orgInstall());

    const fetched = await store.fetchInstallation({
      teamId: 'T9',
      enterpriseId: 'E1',
      isEnterpriseInstall: true,
    });
    expect(fetched.bot?.token).toBe('xoxb-org');
    expect(fetched.enterprise?.id).toBe('E1');
    expect(await redisFixture.redis.hkeys(`${prefix}slack:installations`)).toEqual(['enterprise:E1']);
  });

  it('keeps two workspaces apart', async () => {
    const { store } = freshStore();
    await store.storeInstallation(workspaceInstall('T1', 'xoxb-1'));
    await store.storeInstallation(workspaceInstall('T2', 'xoxb-2'));

    expect((await store.fetchInstallation(teamQuery('T1'))).bot?.token).toBe('xoxb-1');
    expect((await store.fetchInstallation(teamQuery('T2'))).bot?.token).toBe('xoxb-2');

    await store.storeInstallation(workspaceInstall('T2', 'xoxb-2b'));
    expect((await store.fetchInstallation(teamQuery('T1'))).bot?.token).toBe('xoxb-1');
    expect((await store.fetchInstallation(teamQuery('T2'))).bot?.token).toBe('xoxb-2b');
  });

  it('deletes an installation, leaving the others', async () => {
    const { store } = freshStore();
    await store.storeInstallation(workspaceInstall('T1'));
    await store.storeInstallation(workspaceInstall('T2', 'xoxb-2'));

    await store.deleteInstallation(teamQuery('T1'));

    await expect(store.fetchInstallation(teamQuery('T1'))).rejects.toThrow('No installation for team T1');
    expect((await store.fetchInstallation(teamQuery('T2'))).bot?.token).toBe('xoxb-2');
  });

  it('names the team when it has no installation', async () => {
    const { store } = freshStore();
    await expect(store.fetchInstallation(teamQuery('T404'))).rejects.toThrow('No installation for team T404');
  });

  it('names the key and field of a corrupt record, never the token', async () => {
    const { prefix, store } = freshStore();
    const key = `${prefix}slack:installations`;
    await redisFixture.redis.hset(key, 'team:T1', JSON.stringify({ bot: { token: 42, id: 'xoxb-secret' } }));
    // Unquoted, so that JSON.parse's own message would quote the token.
    await redisFixture.redis.hset(key, 'team:T2', '{"bot":{"token":xoxb-secret}}');

    const wrongType = await store.fetchInstallation(teamQuery('T1')).catch((error: Error) => error);
    expect(wrongType).toBeInstanceOf(Error);
    expect(String(wrongType)).toContain(key);
    expect(String(wrongType)).toContain('team:T1');
    expect(String(wrongType)).toContain('bot.token');
    expect(String(wrongType)).not.toContain('xoxb');

    const notJson = await store.fetchInstallation(teamQuery('T2')).catch((error: Error) => error);
    expect(notJson).toBeInstanceOf(Error);
    expect(String(notJson)).toContain(key);
    expect(String(notJson)).toContain('team:T2');
    expect(String(notJson)).not.toContain('xoxb');
  });

  it('refuses an installation without a bot token', async () => {
    const { prefix, store } = freshStore();
    const { bot: _bot, ...userOnly } = workspaceInstall();

    await expect(store.storeInstallation(userOnly)).rejects.toThrow(/team:T1.*no bot token/);
    expect(await redisFixture.redis.exists(`${prefix}slack:installations`)).toBe(0);
  });

  it('refuses an installation that names no team, or an org install without an enterprise', async () => {
    const { store } = freshStore();
    await expect(store.storeInstallation({ ...workspaceInstall(), team: undefined })).rejects.toThrow(
      'without a team id',
    );
    await expect(
      store.storeInstallation({ ...orgInstall(), enterprise: undefined } as never),
    ).rejects.toThrow('without an enterprise id');
  });

  it("serves Bolt's InstallProvider.authorize", async () => {
    const { store } = freshStore();
    await store.storeInstallation(workspaceInstall());
    const provider = new InstallProvider({
      clientId: 'c',
      clientSecret: 's',
      stateSecret: 'x',
      installationStore: store,
    });

    const auth = await provider.authorize({
      teamId: 'T1',
      isEnterpriseInstall: false,
      enterpriseId: undefined,
    });
    expect(auth).toMatchObject({ botToken: 'xoxb-1', botId: 'B1', botUserId: 'UBOT', teamId: 'T1' });

    await expect(
      provider.authorize({ teamId: 'T404', isEnterpriseInstall: false, enterpriseId: undefined }),
    ).rejects.toThrow('No installation for team T404');
  });
});

describe('botTokenOf', () => {
  it("returns a workspace's own bot token", async () => {
    const { store } = freshStore();
    await store.storeInstallation(workspaceInstall('T1', 'xoxb-1'));
    expect(await botTokenOf(store, 'T1')).toBe('xoxb-1');
  });

  it('falls back to the org-wide install for a workspace in the enterprise', async () => {
    const { store } = freshStore();
    await store.storeInstallation(orgInstall());
    expect(await botTokenOf(store, 'T9', 'E1')).toBe('xoxb-org');
    await expect(botTokenOf(store, 'T9')).rejects.toThrow('No installation for team T9');
  });

  it("prefers the workspace's own install over the org's", async () => {
    const { store } = freshStore();
    await store.storeInstallation(orgInstall());
    await store.storeInstallation(workspaceInstall('T1', 'xoxb-1'));
    expect(await botTokenOf(store, 'T1', 'E1')).toBe('xoxb-1');
  });

  it('does not mask a corrupt workspace record with the org install', async () => {
    const { prefix, store } = freshStore();
    await store.storeInstallation(orgInstall());
    await redisFixture.redis.hset(`${prefix}slack:installations`, 'team:T1', '{}');
    await expect(botTokenOf(store, 'T1', 'E1')).rejects.toThrow(/Corrupt.*team:T1/);
  });
});
