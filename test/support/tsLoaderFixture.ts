// A program file for test/tsLoader.test.ts: the throw's line in this file differs from its line in the
// JavaScript that TypeScript emits (the interface and the type-only lines are dropped).
interface Settings {
  readonly namespace: string;
  readonly registries: readonly string[];
}

type Check = (settings: Settings) => void;

const check: Check = (settings: Settings): void => {
  throw new Error(`namespaces.${settings.namespace}: no registry`);
};

check({ namespace: "team-a", registries: [] });
