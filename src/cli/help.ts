/** Help texts for `customs --help` and `customs CMD --help`. Kept beside the README's usage section. */

export const MAIN_HELP = `customs: bring container images onto a host the safe way (verify before decode, daemonless)

Usage: customs COMMAND [OPTIONS]

Commands:
  pull REF      fetch an image into the local store, verifying every byte against its digest
  images        list the images in the store
  inspect REF   show a stored image's manifest, config and layers
  rm REF        remove an image's tag from the store (customs gc frees the blobs)
  gc            delete blobs no image refers to and leftovers of interrupted runs
  fsck          re-hash every blob and check every reference resolves
  login REG     check and save credentials for a registry
  logout REG    forget saved credentials for a registry

Global options:
  --store DIR   image store (default: $CUSTOMS_STORE or ~/.local/share/customs/store)
  --json        print the result as JSON on stdout
  -q, --quiet   print only what is essential
  -h, --help    help for a command: customs CMD --help

References are always fully qualified: REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST.
Short names such as "alpine" are refused (exit 3), never guessed.

Exit codes: 0 ok, 1 internal error, 2 usage, 3 name refused, 4 registry/network, 5 integrity,
6 signature, 7 policy, 8 unsafe content, 9 local store.
`;

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  pull: `Usage: customs pull REF [--store DIR] [--platform OS/ARCH[/VARIANT] | --all-platforms] [--jobs N] [--json] [-q]

Fetch REF (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:...) into the store. Every manifest and blob is
streamed into quarantine while hashed, capped at its declared size, and enters the store only on an exact
digest match. Nothing is decompressed. The reference is tagged only after every blob is verified.

  --platform P       image to select from a multi-platform index (default: this host's platform)
  --all-platforms    keep the whole index and every platform's image
  --jobs N           blobs fetched in parallel (default 3)
`,
  images: `Usage: customs images [--store DIR] [--json]

List the references in the store's index.json with their digests.
`,
  inspect: `Usage: customs inspect REF [--raw | --config] [--store DIR]

Show a stored image: digest, media type, platform, config summary and layers.
  --raw      print the manifest bytes exactly as stored
  --config   print the image config bytes exactly as stored
`,
  rm: `Usage: customs rm REF [--store DIR]

Remove REF's tag from the store. Blobs stay until customs gc.
`,
  gc: `Usage: customs gc [--store DIR]

Delete blobs that no reference reaches and temp files left by interrupted runs.
`,
  fsck: `Usage: customs fsck [--store DIR] [--json]

Re-hash every blob and check that every reference resolves to present, parseable content. Changes nothing.
Exits 9 when a problem is found; leftover temp files are reported as garbage, not problems.
`,
  login: `Usage: customs login REGISTRY --username USER --password-stdin

Check the credentials against REGISTRY and save them to $CUSTOMS_CONFIG/auth.json (mode 0600).
Credentials are only ever sent to the registry's own origin or its HTTPS token realm, never over plain
HTTP to a non-loopback host, and never printed.
`,
  logout: `Usage: customs logout REGISTRY

Remove the credentials customs saved for REGISTRY.
`,
};
