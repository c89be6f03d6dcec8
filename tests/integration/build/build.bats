#!/usr/bin/env bats
# husk build of real Dockerfiles on busybox: the images run (with husk-runtime on a rootfs
# from `husk image mount`) and their configs say what the Dockerfile said.

load build

setup_file() { build_setup_file; }
teardown_file() { build_teardown_file; }
setup() { new_context; }

@test "multi-stage: a builder stage generates a tool, COPY --from takes it, ENV/ARG/USER/WORKDIR/ENTRYPOINT+CMD apply" {
	cat >"$CTX/Dockerfile" <<-'EOF'
	ARG BASE=busybox
	FROM $BASE AS gen
	ARG GREETING=hello
	WORKDIR /work
	COPY words.txt .
	# A shell tool made from the context by sed and awk in the builder stage.
	RUN sed 's/^/word: /' words.txt >list && \
	    awk 'BEGIN{print "#!/bin/sh"} {printf "echo \"%s\"\n", $0} END{print "echo \"$GREETING from $(id -u):$(pwd) $*\""}' list >greet && \
	    chmod 755 greet
	FROM busybox
	ARG GREETING
	ENV GREETING=${GREETING:-unset} APP_HOME=/opt/app
	COPY --from=gen /work/greet $APP_HOME/bin/
	RUN echo 'app:x:1234:1234::/home/app:/bin/sh' >>/etc/passwd && mkdir -p /data && chown app /data
	USER app
	WORKDIR /data
	ENTRYPOINT ["/opt/app/bin/greet"]
	CMD ["default-arg"]
	EXPOSE 8080 53/udp
	LABEL org.example.name="greeter" version=1
	EOF
	printf 'alpha\nbeta\n' >"$CTX/words.txt"
	run husk build -t greeter:1 --build-arg GREETING=hi "$CTX"
	assert_success
	assert_contains "$output" "STEP 1/"
	run_husk_image greeter:1
	assert_success
	assert_equal "$output" $'word: alpha\nword: beta\nhi from 1234:/data default-arg'
	run_husk_image greeter:1 other
	assert_equal "${lines[2]}" "hi from 1234:/data other"
	config=$(husk_config greeter:1)
	assert_equal "$(jq -c .config.Entrypoint <<<"$config")" '["/opt/app/bin/greet"]'
	assert_equal "$(jq -c .config.Cmd <<<"$config")" '["default-arg"]'
	assert_equal "$(jq -r .config.User <<<"$config")" "app"
	assert_equal "$(jq -r .config.WorkingDir <<<"$config")" "/data"
	assert_equal "$(jq -c '.config.ExposedPorts | keys' <<<"$config")" '["53/udp","8080/tcp"]'
	assert_equal "$(jq -c .config.Labels <<<"$config")" '{"org.example.name":"greeter","version":"1"}'
	assert_contains "$(jq -c .config.Env <<<"$config")" '"GREETING=hi","APP_HOME=/opt/app"'
	# ARG values are not in the image's Env.
	run jq -e '.config.Env[] | select(startswith("BASE="))' <<<"$config"
	assert_failure
	# history: one entry per step of the final stage, layers only for what changed files.
	assert_equal "$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$config")" \
		"$(jq '.rootfs.diff_ids | length' <<<"$config")"
}

@test "ENTRYPOINT and CMD combinations as Docker resolves them" {
	cat >"$CTX/Dockerfile" <<-'EOF'
	FROM busybox AS base
	CMD ["echo", "base-cmd"]
	FROM base AS shell-entry
	ENTRYPOINT echo shell-form $0
	FROM base AS exec-entry
	ENTRYPOINT ["echo", "exec-form"]
	FROM exec-entry AS both
	CMD ["with-cmd"]
	FROM base AS shell-cmd
	CMD echo "shell cmd in $0"
	EOF
	husk build -q --target base -t t:base "$CTX" >/dev/null
	husk build -q --target shell-entry -t t:shell-entry "$CTX" >/dev/null
	husk build -q --target exec-entry -t t:exec-entry "$CTX" >/dev/null
	husk build -q --target both -t t:both "$CTX" >/dev/null
	husk build -q --target shell-cmd -t t:shell-cmd "$CTX" >/dev/null
	run_husk_image t:base
	assert_equal "$output" "base-cmd"
	# A new ENTRYPOINT drops the inherited CMD.
	assert_equal "$(husk_config t:exec-entry | jq -c .config.Cmd)" "null"
	run_husk_image t:exec-entry
	assert_equal "$output" "exec-form"
	run_husk_image t:shell-entry
	assert_equal "$output" "shell-form /bin/sh"
	assert_equal "$(husk_config t:shell-entry | jq -c .config.Entrypoint)" '["/bin/sh","-c","echo shell-form $0"]'
	run_husk_image t:both
	assert_equal "$output" "exec-form with-cmd"
	run_husk_image t:shell-cmd
	assert_equal "$output" "shell cmd in /bin/sh"
}

@test "heredocs: RUN <<EOF script (sh and #!), RUN cmd <<EOF, COPY <<EOF with and without expansion" {
	cat >"$CTX/Dockerfile" <<-'DOCKERFILE'
	FROM busybox
	ARG NAME=world
	ENV WHO=$NAME
	RUN <<EOF
	set -e
	mkdir -p /out
	echo "script: $WHO" >/out/script
	EOF
	RUN cat <<EOT >/out/shell
	shell heredoc $WHO
	EOT
	COPY <<EOF /out/expanded
	copied $WHO
	EOF
	COPY <<'EOF' /out/literal
	literal $WHO
	EOF
	RUN <<EOF
	#!/usr/bin/awk -f
	BEGIN { print "awk ran the script" > "/out/awk" }
	EOF
	CMD ["cat", "/out/script", "/out/shell", "/out/expanded", "/out/literal", "/out/awk"]
	DOCKERFILE
	run husk build -t heredoc "$CTX"
	assert_success
	run_husk_image heredoc
	assert_success
	assert_equal "$output" $'script: world\nshell heredoc world\ncopied world\nliteral $WHO\nawk ran the script'
	# The #! script's bind mount point is not in the image.
	rootfs=$(husk image mount heredoc)
	run ls -a "$rootfs/dev"
	husk image unmount heredoc >/dev/null
	[[ "$output" != *husk-heredoc* ]] || fail "script left in the image: $output"
}

@test ".dockerignore with ! exceptions; <Dockerfile>.dockerignore wins over it" {
	mkdir -p "$CTX/logs" "$CTX/src/deep"
	echo a >"$CTX/a.txt"
	echo secret >"$CTX/server.key"
	echo x >"$CTX/logs/x.log"
	echo keep >"$CTX/logs/keep.log"
	echo c >"$CTX/src/deep/c.txt"
	echo tmp >"$CTX/src/deep/c.tmp"
	printf '*.key\nlogs\n!logs/keep.log\n**/*.tmp\n' >"$CTX/.dockerignore"
	cat >"$CTX/Dockerfile" <<-'EOF'
	FROM busybox
	COPY . /ctx/
	CMD ["sh", "-c", "cd /ctx && find . -type f | sort"]
	EOF
	run husk build -t ignored "$CTX"
	assert_success
	run_husk_image ignored
	assert_equal "$output" $'./.dockerignore\n./Dockerfile\n./a.txt\n./logs/keep.log\n./src/deep/c.txt'
	# An excluded file cannot be named either.
	printf 'FROM busybox\nCOPY server.key /\n' >"$CTX/Dockerfile.bad"
	run husk build -f "$CTX/Dockerfile.bad" "$CTX"
	assert_status 125
	assert_contains "$output" "Dockerfile.bad:2: COPY: server.key: excluded from the build context by .dockerignore"
	# The Dockerfile's own ignore file replaces .dockerignore.
	printf 'a.txt\n' >"$CTX/Dockerfile.bad.dockerignore"
	run husk build -f "$CTX/Dockerfile.bad" -t own-ignore "$CTX"
	assert_success
}

@test "COPY rules: dir contents, trailing slash, wildcards, --chown, --chmod; ADD extracts a tar" {
	mkdir -p "$CTX/dir/sub" "$CTX/tree/x"
	echo 1 >"$CTX/dir/one"
	echo 2 >"$CTX/dir/sub/two"
	echo f >"$CTX/file.txt"
	echo g1 >"$CTX/g1.conf"
	echo g2 >"$CTX/g2.conf"
	echo t >"$CTX/tree/x/t.txt"
	tar -C "$CTX/tree" -czf "$CTX/tree.tar.gz" .
	cat >"$CTX/Dockerfile" <<-'EOF'
	FROM busybox
	RUN echo 'owner:x:4321:4321::/:/bin/sh' >>/etc/passwd && echo 'owner:x:4321:' >>/etc/group
	COPY dir /d1
	COPY dir /d2/
	COPY file.txt /renamed
	COPY file.txt /into/
	COPY *.conf /conf/
	COPY --chown=owner:owner --chmod=600 file.txt /owned
	ADD tree.tar.gz /extracted/
	ADD file.txt /added-file
	CMD ["sh", "-c", "find /d1 /d2 /renamed /into /conf /extracted /added-file | sort; stat -c '%u:%g %a' /owned /d1/one"]
	EOF
	run husk build -t copies "$CTX"
	assert_success
	run_husk_image copies
	assert_success
	assert_equal "$output" "/added-file
/conf
/conf/g1.conf
/conf/g2.conf
/d1
/d1/one
/d1/sub
/d1/sub/two
/d2
/d2/one
/d2/sub
/d2/sub/two
/extracted
/extracted/x
/extracted/x/t.txt
/into
/into/file.txt
/renamed
4321:4321 600
0:0 644"
}

@test "--target builds only the stages it needs" {
	cat >"$CTX/Dockerfile" <<-'EOF'
	FROM busybox AS a
	RUN echo built-a >/a && mkdir /g && touch /g/x1 /g/x2 /g/y
	FROM busybox AS unused
	RUN echo this-stage-must-not-run && exit 3
	FROM busybox AS b
	COPY --from=a /a /a
	COPY --from=a /g/x* /globbed/
	RUN cat /a && ls /globbed
	FROM b AS final-unused
	RUN exit 4
	EOF
	run husk build --target b -t only-b "$CTX"
	assert_success
	assert_contains "$output" $'built-a\nx1\nx2'
	[[ "$output" != *"this-stage-must-not-run"* ]] || fail "unused stage ran"
	run_husk_image only-b cat /a
	assert_equal "$output" "built-a"
}

@test "RUN: non-zero exit fails the build with the line; -q prints only the id; --iidfile" {
	printf 'FROM busybox\nRUN echo visible\nRUN exit 7\n' >"$CTX/Dockerfile"
	run husk build "$CTX"
	assert_status 125
	assert_contains "$output" "Dockerfile:3: RUN exit 7: exit status 7"
	assert_clean
	printf 'FROM busybox\nRUN echo quiet-output\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q --iidfile "$BATS_TEST_TMPDIR/iid" "$CTX"
	assert_success
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "not only an id: $output"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/iid")" "$output"
	assert_clean
}

@test "RUN --network: the bridge by default, none and host on request; --mount=type=cache persists" {
	cat >"$CTX/Dockerfile" <<-'EOF'
	FROM busybox
	RUN echo $(ls /sys/class/net) $(ip -4 -o addr show eth0 | grep -c inet) >/bridge.txt
	RUN --network=none echo $(ls /sys/class/net) >/none.txt
	RUN --network=host echo $(ls /sys/class/net) >/host.txt
	RUN --mount=type=cache,target=/cache echo x >>/cache/count && wc -l </cache/count >/count
	CMD ["cat", "/bridge.txt", "/none.txt", "/host.txt", "/count"]
	EOF
	run husk build -t net "$CTX"
	assert_success
	run_husk_image net
	assert_equal "${lines[0]}" "eth0 lo 1"
	assert_equal "${lines[1]}" "lo"
	assert_contains "${lines[2]}" "$(ls /sys/class/net | head -1)"
	assert_equal "${lines[3]}" "1"
	# The RUN containers are detached again: the default network has no endpoint left.
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0
	# The bind-mounted /etc/resolv.conf and /etc/hosts are in no layer (busybox has neither).
	local layer
	husk save -o "$BATS_TEST_TMPDIR/net.tar" net
	mkdir -p "$BATS_TEST_TMPDIR/net"
	tar -xf "$BATS_TEST_TMPDIR/net.tar" -C "$BATS_TEST_TMPDIR/net"
	[[ $(jq '.[0].Layers | length' "$BATS_TEST_TMPDIR/net/manifest.json") -ge 2 ]]
	for layer in $(jq -r '.[0].Layers[]' "$BATS_TEST_TMPDIR/net/manifest.json"); do
		run tar -tf "$BATS_TEST_TMPDIR/net/$layer"
		assert_not_contains "$output" "resolv.conf"
		assert_not_contains "$output" "etc/hosts"
	done
	run husk build --no-cache -t net "$CTX"
	assert_success
	run_husk_image net
	assert_equal "${lines[3]}" "2"
	# The cache mount is not part of the image.
	run_husk_image net ls /cache
	assert_equal "$output" ""
}

@test "deletions become OCI whiteouts; a recreated directory is opaque; SOURCE_DATE_EPOCH clamps mtimes" {
	cat >"$CTX/Dockerfile" <<-'EOF'
	FROM busybox
	RUN mkdir -p /d/old /keep && echo x >/d/old/f && echo y >/gone && echo k >/keep/k
	RUN rm /gone && rm -rf /d && mkdir /d && echo new >/d/new
	CMD ["sh", "-c", "ls /d; ls /gone 2>&1 || true"]
	EOF
	SOURCE_DATE_EPOCH=1000000000 run husk build -t wh "$CTX"
	assert_success
	run_husk_image wh
	assert_equal "${lines[0]}" "new"
	assert_contains "${lines[1]}" "No such file or directory"
	husk save -o "$BATS_TEST_TMPDIR/wh.tar" wh
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/wh.tar"
	last=$(jq -r '.[0].Layers[-1]' "$BATS_TEST_TMPDIR/x/manifest.json")
	run tar -tvf "$BATS_TEST_TMPDIR/x/$last"
	assert_success
	assert_contains "$output" "d/.wh..wh..opq"
	assert_contains "$output" ".wh.gone"
	assert_contains "$output" "d/new"
	# Every entry's mtime is at most SOURCE_DATE_EPOCH (2001-09-09).
	run sh -c "tar --full-time -tvf '$BATS_TEST_TMPDIR/x/$last' | awk '{print \$4}' | sort -u"
	assert_equal "$output" "2001-09-09"
	# And the same build with the same epoch gives the same image id.
	id1=$(SOURCE_DATE_EPOCH=1000000000 husk build -q --no-cache "$CTX")
	id2=$(SOURCE_DATE_EPOCH=1000000000 husk build -q --no-cache "$CTX")
	assert_equal "$id1" "$id2" "image id of two --no-cache builds"
}
