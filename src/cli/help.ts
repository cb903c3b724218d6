/** The main help text (`customs --help`); each command's own help lives with the command. */

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
  verify REF    re-check a stored image's signatures against the policy (or --checksums for an archive)
  verify-blob F verify a sigstore bundle over a file offline, as cosign verify-blob
  sign REF      sign a stored image (cosign key pushed to the registry, or GPG to the lookaside)
  generate-key  write a cosign-compatible key pair
  trust         trust add SCOPE --cosign-key K | --gpg-key K | --keyless I S | --notary-root R [--notary-server U];
                list; rm
  policy        policy init (reject by default); policy show [REF]
  unpack REF D  extract a stored image's root filesystem into directory D, never outside it
  export REF    write a stored image to a file (-o FILE --format docker-archive|oci-archive)
  load -i FILE  import a docker-archive or oci-archive into the store
  notary        notary verify: a tag's digest from Notary v1 / Docker Content Trust metadata (dir or server)

Global options:
  --store DIR   image store (default: $CUSTOMS_STORE or ~/.local/share/customs/store)
  --json        print the result as JSON on stdout
  -q, --quiet   print only what is essential
  -h, --help    help for a command: customs CMD --help
  --policy FILE           policy.json (default: $CUSTOMS_CONFIG/policy.json, /etc/containers/policy.json)
  --registries.d DIR      signature stores (default: $CUSTOMS_CONFIG/registries.d, /etc/containers/registries.d)
  --insecure-policy       accept any image without a policy (pull refuses without a policy file otherwise)

References are always fully qualified: REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST.
Short names such as "alpine" are refused (exit 3), never guessed.

Exit codes: 0 ok, 1 internal error, 2 usage, 3 name refused, 4 registry/network, 5 integrity,
6 signature, 7 policy, 8 unsafe content, 9 local store.
`;
