/**
 * The first step of reading a record the cache keeps in S3 (a manifest, a
 * rescue's or a refusal's record): its text as a JSON object, or nothing.
 * A record that is not one answers nothing; each reader checks its fields.
 */

export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `text` as a JSON object, or undefined when it is not JSON or not an object. */
export const parseJsonObject = (text: string): Record<string, unknown> | undefined => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isJsonObject(value) ? value : undefined;
};
