/**
 * fast-xml-parser, loaded with the first document a module reads: most
 * containers of either Lambda never parse XML (a snapshot's repomd.xml, a
 * metalink), and the parser stays off their cold start. Attributes are kept
 * (`@_name`), namespace prefixes dropped, every value kept as text.
 */
import type { XMLParser } from 'fast-xml-parser';

/** A loader of one parser, made at its first call; elements named in `arrays` are always lists. */
export const lazyXmlParser = (arrays: readonly string[]): (() => Promise<XMLParser>) => {
  let parser: XMLParser | undefined;
  return async () => {
    if (parser !== undefined) return parser;
    const { XMLParser } = await import('fast-xml-parser');
    parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      removeNSPrefix: true,
      parseTagValue: false,
      parseAttributeValue: false,
      isArray: (name) => arrays.includes(name),
    });
    return parser;
  };
};
