/** Text matched literally inside a Redis glob (SCAN, ZSCAN … MATCH): ids may hold `*`, `?` or `[`. */
export const globEscape = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');
