export { DEFAULT_ADAPTIVE, adaptiveConfig, checkAdaptiveConfig, effectiveMultiplier, outcomeOf, recordOutcome } from './adaptive.js';
export { DEFAULT_PROFILES, createClassifier, validateProfile } from './classifier.js';
export type { Classifier, ClassifierOptions, ClassifierEnvironment, ClassifyInput, Profile, UserType } from './classifier.js';
export { DEFAULT_ENDPOINT_COSTS, createEndpointCosts } from './endpoint-costs.js';
export type { EndpointCostRule, EndpointCosts, EndpointCostsOptions } from './endpoint-costs.js';
export { limitedBody, rateLimitHeaders } from './headers.js';
export type { HeaderStyle, LimitedBody, LimitedBodyOptions, RateLimitHeadersOptions } from './headers.js';
export { cidrMatcher, ipKey, normalizeIp, parseIp } from './ip.js';
export type { IpKeyOptions, ParsedIp } from './ip.js';
