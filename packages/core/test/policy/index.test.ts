import { describe, expect, it } from 'vitest';
import * as policy from '../../src/policy/index.js';

describe('policy index', () => {
  it('exports the policy API', () => {
    expect(Object.keys(policy).sort()).toEqual(
      [
        'DEFAULT_ADAPTIVE',
        'DEFAULT_ENDPOINT_COSTS',
        'DEFAULT_PROFILES',
        'adaptiveConfig',
        'checkAdaptiveConfig',
        'cidrMatcher',
        'createClassifier',
        'createEndpointCosts',
        'effectiveMultiplier',
        'ipKey',
        'limitedBody',
        'normalizeIp',
        'outcomeOf',
        'parseIp',
        'rateLimitHeaders',
        'recordOutcome',
        'validateProfile',
      ].sort(),
    );
  });
});
