/**
 * Contexts threaded through the family parsers and formatters.
 *
 * ParseCtx carries the parse flags the families need (inactive parse drops live-only data)
 * and the MAC generator of the parser configuration;
 * FormatCtx the format flags (inactive omits runtime data, secure writes passwords).
 * Nothing here holds per-document state beyond the flags, so one object serves a whole run.
 */

export interface ParseCtx {
  /** VIR_DOMAIN_DEF_PARSE_INACTIVE: drop runtime-only data (ids, runtime aliases, ttys). */
  inactive: boolean;
  /** MAC for an interface written without one (DomainParserConfig.generateMac). */
  generateMac(): string;
}

export interface FormatCtx {
  /** VIR_DOMAIN_XML_INACTIVE. */
  inactive: boolean;
  /** VIR_DOMAIN_XML_SECURE. */
  secure: boolean;
}
