/**
 * The scenario suite of issue 9 (`npm run scenarios`, scenarios/RESULTS.md): definitions as data, runners
 * on the emulator in virtual time with both ends this stack, every policy from the registries, a table.
 */
export * from './types.js';
export { SCENARIOS, COUPLED_CC, SIMULT_FLOWS, WIFI_3G, WIFI_LTE, WIFI_SLOW_LTE, SHARED_BOTTLENECK, REDUNDANT_UNDER_LOSS, FAILOVER, WIFI, THREE_G } from './definitions.js';
export { policiesOf, available } from './policies.js';
export { runScenario, simultFlowsBoundMs, sharedBottleneckShares } from './runners.js';
export { runSuite, runDefinition, selectScenarios, selectPolicies } from './suite.js';
export { toJson, toMarkdown, tally } from './report.js';
