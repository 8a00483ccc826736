// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "proto/gen/", ".cache/", ".dev/", "examples/out/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
      "no-restricted-properties": [
        "error",
        { object: "describe", property: "only", message: "no .only in committed tests" },
        { object: "it", property: "only", message: "no .only in committed tests" },
        { object: "test", property: "only", message: "no .only in committed tests" },
      ],
    },
  },
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
  // The examples import the package by name, whose types are the built library (dist/lib):
  // test/e2e/library.test.ts type-checks them against it; here only the untyped rules apply.
  { files: ["examples/**/*.ts"], ...tseslint.configs.disableTypeChecked },
  {
    files: ["**/*.js"],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", URL: "readonly" },
    },
  },
);
