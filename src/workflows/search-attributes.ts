// Typed search attributes shown as columns in the Temporal Web UI. Pure: imported by workflows and the server
// launcher (which registers them on the dev server).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CERTIFICATE_NAME = defineSearchAttributeKey('AutosslCertificate', SearchAttributeType.KEYWORD);
export const CERTIFICATE_DOMAINS = defineSearchAttributeKey('AutosslDomains', SearchAttributeType.KEYWORD_LIST);
export const CERTIFICATE_EXPIRY = defineSearchAttributeKey('AutosslExpiry', SearchAttributeType.DATETIME);
export const CERTIFICATE_STATE = defineSearchAttributeKey('AutosslState', SearchAttributeType.KEYWORD);

/** `name → type` as `temporal server start-dev --search-attribute` and `operator search-attribute create` want it. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList' | 'Datetime'> = {
  AutosslCertificate: 'Keyword',
  AutosslDomains: 'KeywordList',
  AutosslExpiry: 'Datetime',
  AutosslState: 'Keyword',
};
