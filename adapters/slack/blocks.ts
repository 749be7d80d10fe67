import type { KnownBlock } from '@slack/types';
import type { Choice, OutboundMessage } from '../../src/engine/events.ts';

/** Slack's limit on a section's text; longer copy is split over several sections. */
const SECTION_MAX = 3000;
/** Slack allows at most 25 elements in one actions block. */
const ACTIONS_MAX = 25;

/** Plain text shown as mrkdwn: Slack's three control characters are escaped, nothing else. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function sections(text: string): KnownBlock[] {
  const escaped = escapeMrkdwn(text);
  const blocks: KnownBlock[] = [];
  for (let i = 0; i < escaped.length; i += SECTION_MAX) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: escaped.slice(i, i + SECTION_MAX) } });
  }
  return blocks.length > 0 ? blocks : [{ type: 'section', text: { type: 'mrkdwn', text: ' ' } }];
}

/** A question's button: the value carries `seq:value` back, as Telegram's callback data does. */
function button(choice: Choice, seq: number, index: number) {
  return {
    type: 'button' as const,
    action_id: `bc:${seq}:${index}`,
    text: { type: 'plain_text' as const, text: choice.label.slice(0, 75), emoji: true },
    value: `${seq}:${choice.value}`,
  };
}

/**
 * An engine message as Block Kit: the text, then one actions block per row of choices (the pain
 * scale is one row of eleven). `text` is the notification fallback Slack shows outside the app.
 */
export function messageBlocks(message: OutboundMessage): { text: string; blocks: KnownBlock[] } {
  const blocks = sections(message.text);
  if (message.choices && message.seq !== undefined) {
    let index = 0;
    for (const [row, choices] of message.choices.entries()) {
      for (let i = 0; i < choices.length; i += ACTIONS_MAX) {
        blocks.push({
          type: 'actions',
          block_id: `q${message.seq}r${row}p${i}`,
          elements: choices.slice(i, i + ACTIONS_MAX).map((c) => button(c, message.seq as number, index++)),
        });
      }
    }
  }
  return { text: message.text.slice(0, 4000), blocks };
}

/** The question's message once answered: its text, the answer given when known, and no buttons. */
export function closedBlocks(
  text: string,
  answer: string | undefined,
): { text: string; blocks: KnownBlock[] } {
  const blocks = sections(text);
  if (answer !== undefined)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `✓ ${escapeMrkdwn(answer)}` }] });
  return { text: text.slice(0, 4000), blocks };
}
