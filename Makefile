# Shortcuts over meson and ninja (build dir: build/, or BUILD=...).
#   make              configure (once) and build
#   make install      install the binary, systemd unit and man page
#                     (PREFIX via `meson setup --prefix` the first time:
#                     make PREFIX=/usr install)
#   make test         unit tests
BUILD ?= build
PREFIX ?= /usr/local

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup --prefix=$(PREFIX) $(BUILD)

install: all
	meson install -C $(BUILD)

test: all
	meson test -C $(BUILD) --suite unit

.PHONY: all install test
