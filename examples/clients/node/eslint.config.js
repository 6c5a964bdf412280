// ESLint flat config: the recommended rules, for Node ESM sources and tests.

import js from "@eslint/js";

const nodeGlobals = {
  AbortController: "readonly",
  AbortSignal: "readonly",
  Buffer: "readonly",
  URL: "readonly",
  clearTimeout: "readonly",
  console: "readonly",
  performance: "readonly",
  process: "readonly",
  setImmediate: "readonly",
  setTimeout: "readonly",
};

export default [
  { ignores: ["node_modules/", "test/types/"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: nodeGlobals },
    rules: { "no-unused-vars": ["error", { argsIgnorePattern: "^_" }] },
  },
];
