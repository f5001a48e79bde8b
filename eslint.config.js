// ESLint, type-aware: every TypeScript file is checked with the types of the tsconfig nearest to it
// (tsconfig.json for src/, test/ and bench/ have their own, web/ has the DOM's). `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'test-output/**', 'bench/results/**', 'bench/peers/**', 'test/fixtures/**'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      // Numbers and booleans read fine in messages; objects, nullish values and `any` stay refused.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // With noUncheckedIndexedAccess, `xs[i]!` after a length check is the plain way to index.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // The memory backends implement the async store interface without awaiting (a sync throw
      // still becomes a rejection), and Fastify plugins and hooks are async functions by API.
      '@typescript-eslint/require-await': 'off',
      // No-op observers and swallowed best-effort callbacks (`.catch(() => {})`) are empty on purpose.
      '@typescript-eslint/no-empty-function': 'off',
      // `() => void f()` shorthand callbacks are the house style.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // It trusts narrowing across awaits (`signal.aborted` checked again after an await reads as
      // "always false") and declared types at trust boundaries (Fastify's route config on a 404,
      // errors of unknown shape, parsed answers): most of its findings are checks that do run.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Values from Redis replies and headers are typed by a cast; the String()/Number() is the real conversion.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // Bracket access marks a key of an index signature (a command defined at run time) as not a declared member.
      '@typescript-eslint/dot-notation': ['error', { allowIndexSignaturePropertyAccess: true }],
      // Style only: `/literal/.test(s)`, `s.match(re)`, `s[0] === 'w'`, `a && a.b` and `type X = {...}`
      // read as well as the forms these rules ask for.
      '@typescript-eslint/prefer-includes': 'off',
      '@typescript-eslint/prefer-regexp-exec': 'off',
      '@typescript-eslint/prefer-string-starts-ends-with': 'off',
      '@typescript-eslint/prefer-optional-chain': 'off',
      '@typescript-eslint/consistent-type-definitions': 'off',
      // `s || fallback` on a string falls back on '' too, on purpose.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // A binding read by a closure made before its one assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_name` marks a parameter or binding kept for its position or shape.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { globals: globals.node },
  },
  {
    // Tests parse wire answers (`res.json()`), YAML and JSON documents and assert on them: the
    // `any` is the document under test and the assertions are its type check.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The reports read result files of any past run (older ones lack newer fields), probing `any`
    // with optional chains and printing '–' where a figure is missing.
    files: ['bench/report.ts', 'bench/report-scale.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
    },
  },
  {
    files: ['web/src/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
