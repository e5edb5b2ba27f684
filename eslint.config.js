// ESLint (flat config): typescript-eslint's recommended rules (without type information, so a run
// takes seconds) on the source, tests, benchmarks and scripts. Formatting is Prettier's
// (npm run format); nothing here is a style rule.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'runs/', 'data/', '.cache/', '.gpu*/', '.gl/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `const { a: _, ...rest } = o` is how the code leaves a key out; `_`-names are unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `let [x0, x1] = ...` with only x1 reassigned reads better than splitting the pair.
      'prefer-const': ['error', { destructuring: 'all' }],
    },
  },
  // Plain JavaScript run by Node (bench/lab/run.mjs, scripts/*.mjs, this file).
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: globals.node } },
);
