/**
 * Resource options that `tools/mockRuntime.ts`'s `Registered` record does not carry (`replaceOnChanges`, and
 * whether `deleteBeforeReplace` was set at all), read from the registration request the SDK sends to the mock
 * monitor. It wraps `MockMonitor.prototype.registerResource`, so it sees every registration from `capture()` to
 * `restore()`, whichever run installs the mocks in between.
 */
// Internal module of the SDK, as tools/mockRuntime.ts uses it: the mock monitor the runs register through.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mocks = require("@pulumi/pulumi/runtime/mocks");

export interface RegistrationOptions {
  readonly type: string;
  readonly name: string;
  readonly replaceOnChanges: readonly string[];
  readonly ignoreChanges: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly deleteBeforeReplaceDefined: boolean;
}

export interface OptionsCapture {
  readonly registrations: RegistrationOptions[];
  /** The one registration of this type and name. */
  find(type: string, name: string): RegistrationOptions;
  restore(): void;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getDeletebeforereplace(): boolean;
  getDeletebeforereplacedefined(): boolean;
}

export function captureRegistrationOptions(): OptionsCapture {
  const proto = mocks.MockMonitor.prototype as {
    registerResource: (req: RegisterRequest, callback: unknown) => unknown;
  };
  const original = proto.registerResource;
  const registrations: RegistrationOptions[] = [];
  proto.registerResource = function (this: unknown, req: RegisterRequest, callback: unknown) {
    registrations.push({
      type: req.getType(),
      name: req.getName(),
      replaceOnChanges: req.getReplaceonchangesList(),
      ignoreChanges: req.getIgnorechangesList(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      deleteBeforeReplaceDefined: req.getDeletebeforereplacedefined(),
    });
    return original.call(this, req, callback);
  };
  return {
    registrations,
    find(type: string, name: string): RegistrationOptions {
      const found = registrations.filter((r) => r.type === type && r.name === name);
      if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
      return found[0];
    },
    restore(): void {
      proto.registerResource = original;
    },
  };
}
