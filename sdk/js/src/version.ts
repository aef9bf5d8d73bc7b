/** The SDK's version, the `version` of its package.json (a test keeps them equal). */
export const VERSION = '0.1.0';
