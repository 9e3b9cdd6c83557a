# Install rnetns: the release binary, its man page and shell completions.
#
#   make install [PREFIX=/usr/local] [DESTDIR=]
#   make install-ip-shim     # also an `ip` symlink in $(PREFIX)/sbin, and
#                            # the bash completion for `ip` (see rnetns(8))
#   make uninstall
#   make deb                 # target/debian/rnetns_*.deb (needs cargo-deb)

PREFIX ?= /usr/local
DESTDIR ?=
CARGO ?= cargo
INSTALL ?= install

BINDIR = $(PREFIX)/bin
SBINDIR = $(PREFIX)/sbin
MAN8DIR = $(PREFIX)/share/man/man8
BASHDIR = $(PREFIX)/share/bash-completion/completions
ZSHDIR = $(PREFIX)/share/zsh/vendor-completions
FISHDIR = $(PREFIX)/share/fish/vendor_completions.d

# .cargo/config.toml builds for the host's tuple by name (static-pie; see
# build.rs), so the binary lives under target/<tuple>/; `make build` also
# links the usual target/release/rnetns to it.
TUPLE := $(shell rustc --print host-tuple)
BIN = target/$(TUPLE)/release/rnetns

.PHONY: all build install install-ip-shim uninstall deb

all: build

# cargo decides whether anything needs rebuilding.
build:
	$(CARGO) build --release --locked
	@mkdir -p target/release && ln -sfn ../$(TUPLE)/release/rnetns target/release/rnetns

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN8DIR) \
		$(DESTDIR)$(BASHDIR) $(DESTDIR)$(ZSHDIR) $(DESTDIR)$(FISHDIR)
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/rnetns
	$(INSTALL) -m 0644 man/rnetns.8 $(DESTDIR)$(MAN8DIR)/rnetns.8
	$(INSTALL) -m 0644 completions/rnetns.bash $(DESTDIR)$(BASHDIR)/rnetns
	$(INSTALL) -m 0644 completions/_rnetns $(DESTDIR)$(ZSHDIR)/_rnetns
	$(INSTALL) -m 0644 completions/rnetns.fish $(DESTDIR)$(FISHDIR)/rnetns.fish

# An `ip` that is rnetns for `ip netns` and iproute2 for everything else.
# Refuses to replace an `ip` that is not already this shim (PREFIX=/usr
# would otherwise replace iproute2's own ip, which rnetns hands off to).
install-ip-shim: install
	$(INSTALL) -d $(DESTDIR)$(SBINDIR)
	@for f in $(DESTDIR)$(SBINDIR)/ip $(DESTDIR)$(BASHDIR)/ip; do \
		if [ -e "$$f" ] && ! [ -L "$$f" -a "$$(basename "$$(readlink "$$f")")" = rnetns ]; then \
			echo "make: $$f exists and is not the rnetns shim; not replacing it" >&2; exit 1; \
		fi; \
	done
	ln -sfn $$(realpath -m --relative-to=$(SBINDIR) $(BINDIR)/rnetns) $(DESTDIR)$(SBINDIR)/ip
	ln -sfn rnetns $(DESTDIR)$(BASHDIR)/ip

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rnetns $(DESTDIR)$(MAN8DIR)/rnetns.8 \
		$(DESTDIR)$(BASHDIR)/rnetns $(DESTDIR)$(ZSHDIR)/_rnetns \
		$(DESTDIR)$(FISHDIR)/rnetns.fish
	@for f in $(DESTDIR)$(SBINDIR)/ip $(DESTDIR)$(BASHDIR)/ip; do \
		if [ -L "$$f" ] && [ "$$(basename "$$(readlink "$$f")")" = rnetns ]; then \
			echo "rm -f $$f"; rm -f "$$f"; \
		fi; \
	done

# cargo-deb ignores build.target: it is given the tuple so that it reads
# target/<tuple>/release/rnetns itself.
deb:
	$(CARGO) deb --locked --target $(TUPLE)
