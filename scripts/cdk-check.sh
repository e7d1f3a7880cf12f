#!/usr/bin/env bash
# `make cdk-check`: the README's TypeScript CDK snippet, compiled, synthesized and cfn-linted.
# aws-cdk-lib, constructs and typescript come from npm, exactly as tests/cdk/package-lock.json
# has them, into target/cdk-check; the snippet runs in a stack that has an endpoint to scale.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null || { echo "make cdk-check needs Node.js and npm" >&2; exit 1; }
work=target/cdk-check
mkdir -p "$work"
cp tests/cdk/package.json tests/cdk/package-lock.json "$work/"
(cd "$work" && npm ci --no-audit --no-fund --silent)

# The first ```ts block of the README: its imports go at the top, the rest in the constructor.
snippet=$(awk '/^```ts$/{on=1; next} /^```$/{if (on) exit} on' README.md)
test -n "$snippet" || { echo "no \`\`\`ts block in README.md" >&2; exit 1; }
{
  echo "import { App, Stack } from 'aws-cdk-lib';"
  echo "import { CfnEndpoint } from 'aws-cdk-lib/aws-sagemaker';"
  grep '^import ' <<<"$snippet" || true
  echo "class ReadmeStack extends Stack {"
  echo "  constructor(app: App) {"
  echo "    super(app, 'ReadmeStack');"
  echo "    const endpoint = new CfnEndpoint(this, 'Endpoint', { endpointConfigName: 'config' });"
  grep -v '^import ' <<<"$snippet" || true
  echo "  }"
  echo "}"
  echo "const app = new App({ outdir: 'cdk.out' });"
  echo "new ReadmeStack(app);"
  echo "app.synth();"
} >"$work/app.ts"
(cd "$work" && rm -rf cdk.out && npx tsc --strict --skipLibCheck --target es2022 --module commonjs app.ts && node app.js)
cfn-lint "$work/cdk.out/ReadmeStack.template.json"
echo "README's CDK snippet: compiled, synthesized and cfn-linted ($work/cdk.out)"
