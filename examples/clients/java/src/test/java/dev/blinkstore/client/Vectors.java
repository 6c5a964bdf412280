package dev.blinkstore.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The protocol vectors, protocol/vectors/v1.json and v2.json (their schema is
 * protocol/vectors/README.md), and the repository root they are found in: the {@code blink.root}
 * system property, or the nearest parent of the working directory that holds them. One instance
 * per file; the byte-string and field helpers are static.
 */
final class Vectors {
    static final Path ROOT = findRoot();
    /** Every version-1 frame. */
    static final Vectors V1 = new Vectors("v1.json");
    /** What version 2 adds. */
    static final Vectors V2 = new Vectors("v2.json");
    /** Both files: a version-2 client passes every case of each. */
    static final List<Vectors> ALL = List.of(V1, V2);

    /** The file name, for test names. */
    final String file;
    private final Map<String, Object> root;

    private Vectors(String file) {
        this.file = file;
        this.root = load(file);
    }

    private static Path findRoot() {
        String property = System.getProperty("blink.root");
        if (property != null) {
            return Path.of(property).toAbsolutePath();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.exists(dir.resolve("protocol/vectors/v1.json"))) {
                return dir;
            }
        }
        throw new IllegalStateException("protocol/vectors/v1.json not found above " + Path.of("").toAbsolutePath());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> load(String file) {
        try {
            return (Map<String, Object>) Json.parse(Files.readString(ROOT.resolve("protocol/vectors").resolve(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One top-level section (decode_reply, sessions, ...) as a list of cases; empty if the file has none. */
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> section(String name) {
        return (List<Map<String, Object>>) root.getOrDefault(name, List.of());
    }

    /** A named limit set; {@code null} is the default set. */
    @SuppressWarnings("unchecked")
    Map<String, Object> limits(String name) {
        return (Map<String, Object>) ((Map<String, Object>) root.get("limits")).get(name == null ? "default" : name);
    }

    /** The version the file's decode cases are decoded at. */
    int protocolVersion() {
        return integer(root.get("protocol_version"));
    }

    /** A byte string: hex with optional spaces, or an array of hex parts and repeats. */
    static byte[] bytes(Object encoded) {
        if (encoded instanceof String hex) {
            return HexFormat.of().parseHex(hex.replace(" ", ""));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : (List<?>) encoded) {
            if (part instanceof Map<?, ?> repeat) {
                byte[] unit = bytes(repeat.get("repeat"));
                long count = (Long) repeat.get("count");
                for (long i = 0; i < count; i++) {
                    out.writeBytes(unit);
                }
            } else {
                out.writeBytes(bytes(part));
            }
        }
        return out.toByteArray();
    }

    /** A case field as a map. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }

    /** A case field as a list of maps. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Object value) {
        return (List<Map<String, Object>>) value;
    }

    /** A case field as an int (lengths, codes, limits). */
    static int integer(Object value) {
        return Math.toIntExact((Long) value);
    }
}
