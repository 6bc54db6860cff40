/** Result checks for the driver tests that keep every error they see, so a test can prove none carries the password. */
import { expect } from "bun:test";
import type { BmcError } from "../../../daemon/bmc/types.ts";
import type { Result } from "../../../daemon/lib/result.ts";

/** Checks that unwrap a driver's results and remember each error. */
export interface DriverResults {
  /** The value of an ok result; throws with the error's code and message otherwise. */
  okValue<T>(r: Result<T, BmcError>): T;
  /** The error of a failed result; throws with the value otherwise. */
  errorOf<T>(r: Result<T, BmcError>): BmcError;
  /** Expects that no error seen so far carries `secret`. */
  expectNoneCarries(secret: string): void;
}

/** A fresh set of checks with its own list of errors seen. */
export function driverResults(): DriverResults {
  const seen: BmcError[] = [];
  return {
    okValue(r) {
      if (!r.ok) {
        seen.push(r.error);
        throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
      }
      return r.value;
    },
    errorOf(r) {
      if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
      seen.push(r.error);
      return r.error;
    },
    expectNoneCarries(secret) {
      for (const e of seen) expect(JSON.stringify(e)).not.toContain(secret);
    },
  };
}
