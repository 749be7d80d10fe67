import { describe, expect, it } from 'vitest';
import { closedBlocks, escapeMrkdwn, messageBlocks } from '../../../adapters/slack/blocks.ts';

describe('Block Kit', () => {
  it('renders a question as text and one actions block per row, with seq:value button values', () => {
    const pain = Array.from({ length: 11 }, (_, n) => ({ value: String(n), label: String(n) }));
    const { text, blocks } = messageBlocks({ text: 'Pain today <0–10>?', seq: 9, choices: [pain] });
    expect(text).toBe('Pain today <0–10>?');
    expect(blocks[0]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: 'Pain today &lt;0–10&gt;?' },
    });
    expect(blocks).toHaveLength(2);
    const actions = blocks[1] as { type: string; elements: { action_id: string; value: string }[] };
    expect(actions.type).toBe('actions');
    expect(actions.elements.map((e) => e.value)).toEqual(pain.map((p) => `9:${p.value}`));
    expect(new Set(actions.elements.map((e) => e.action_id)).size).toBe(11);
  });

  it('splits long text over sections and leaves buttons off a message without a question', () => {
    const { blocks } = messageBlocks({ text: 'x'.repeat(7000), choices: [[{ value: 'a', label: 'A' }]] });
    expect(blocks.map((b) => b.type)).toEqual(['section', 'section', 'section']);
  });

  it('closes a question: the text stays, the buttons go, the answer shows', () => {
    expect(closedBlocks('How old are you?', '20–39').blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: 'How old are you?' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: '✓ 20–39' }] },
    ]);
    expect(closedBlocks('Old question', undefined).blocks).toHaveLength(1);
    expect(escapeMrkdwn('a & <b>')).toBe('a &amp; &lt;b&gt;');
  });
});
