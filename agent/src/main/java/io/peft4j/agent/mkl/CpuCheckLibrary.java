package io.peft4j.agent.mkl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The bytes of a Linux x86-64 shared library that defines one function, {@code int mkl_serv_intel_cpu_true(void)},
 * returning 1: the C file {@code int mkl_serv_intel_cpu_true(void) { return 1; }} compiled with
 * {@code cc -shared -fPIC}, written here so that nobody needs a C compiler. oneMKL, which libtorch links statically
 * and exports, asks that function whether the CPU is Intel's before it chooses its kernels by the CPU's features;
 * loaded ahead of libtorch into the process's global symbol scope, this library's answer is the one libtorch's calls
 * bind to ({@link MklCodePaths}).
 *
 * <p>The file is a minimal, conventional ELF64 object: one read-only executable segment (ELF header, program headers,
 * {@code .hash}, {@code .dynsym}, {@code .dynstr}, {@code .text}), one writable segment holding {@code .dynamic}
 * (the dynamic loader may relocate its entries in place), a {@code PT_GNU_STACK} header asking for a non-executable
 * stack, and section headers so that {@code readelf}/{@code nm -D} read it. No relocations, no dependencies, no
 * initialisers: loading it runs nothing.
 */
public final class CpuCheckLibrary {

    /** The one symbol the library defines. */
    public static final String SYMBOL = "mkl_serv_intel_cpu_true";
    /** The library's {@code DT_SONAME}. */
    public static final String SONAME = "libpeft4j-mkl-intel-paths.so";

    /** {@code mov eax, 1; ret}. */
    private static final byte[] CODE = {(byte) 0xb8, 1, 0, 0, 0, (byte) 0xc3};
    private static final int PAGE = 0x1000;
    private static final int EHDR = 64;
    private static final int PHDR = 56;
    private static final int SHDR = 64;
    private static final int SYM = 24;
    private static final int DYN = 16;
    private static final int PROGRAM_HEADERS = 4;
    private static final String SECTION_NAMES = "\0.hash\0.dynsym\0.dynstr\0.text\0.dynamic\0.shstrtab\0";

    private CpuCheckLibrary() {}

    /** Writes the library to {@code file} (replacing it) and returns the file. */
    public static Path write(Path file) throws IOException {
        Files.write(file, bytes());
        return file;
    }

    /** The library's bytes (the same on every call). */
    public static byte[] bytes() {
        byte[] dynstr = ("\0" + SYMBOL + "\0" + SONAME + "\0").getBytes(StandardCharsets.US_ASCII);
        int symbolName = 1;
        int sonameName = 1 + SYMBOL.length() + 1;
        int hash = EHDR + PROGRAM_HEADERS * PHDR;
        int hashSize = 5 * 4; // nbucket=1, nchain=2, bucket[0], chain[0], chain[1]
        int dynsym = align(hash + hashSize, 8);
        int dynsymSize = 2 * SYM;
        int dynstrOffset = dynsym + dynsymSize;
        int text = align(dynstrOffset + dynstr.length, 16);
        int textEnd = text + CODE.length;
        // .dynamic: in a writable segment of its own, one page above its file offset (same offset modulo the page)
        int dynamic = align(textEnd, 8);
        int dynamicAddress = dynamic + PAGE;
        int dynamicSize = 7 * DYN;
        byte[] sectionNames = SECTION_NAMES.getBytes(StandardCharsets.US_ASCII);
        int shstrtab = dynamic + dynamicSize;
        int sectionHeaders = align(shstrtab + sectionNames.length, 8);
        int sections = 7;
        ByteBuffer b = ByteBuffer.allocate(sectionHeaders + sections * SHDR).order(ByteOrder.LITTLE_ENDIAN);

        // ELF header: ELFCLASS64, little-endian, version 1, System V ABI; ET_DYN, EM_X86_64
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) 3).putShort((short) 62).putInt(1).putLong(0).putLong(EHDR).putLong(sectionHeaders);
        b.putInt(0).putShort((short) EHDR).putShort((short) PHDR).putShort((short) PROGRAM_HEADERS)
                .putShort((short) SHDR).putShort((short) sections).putShort((short) 6);

        // program headers: PT_LOAD r-x, PT_LOAD rw- (.dynamic), PT_DYNAMIC, PT_GNU_STACK rw-
        programHeader(b, 1, 5, 0, 0, textEnd, PAGE);
        programHeader(b, 1, 6, dynamic, dynamicAddress, dynamicSize, PAGE);
        programHeader(b, 2, 6, dynamic, dynamicAddress, dynamicSize, 8);
        programHeader(b, 0x6474e551, 6, 0, 0, 0, 16);

        // .hash: one bucket holding symbol 1, whose chain ends there
        b.position(hash);
        b.putInt(1).putInt(2).putInt(1).putInt(0).putInt(0);

        // .dynsym: the null symbol, then the function (STB_GLOBAL, STT_FUNC, default visibility, in .text)
        b.position(dynsym + SYM);
        b.putInt(symbolName).put((byte) 0x12).put((byte) 0).putShort((short) 4).putLong(text).putLong(CODE.length);

        b.position(dynstrOffset);
        b.put(dynstr);
        b.position(text);
        b.put(CODE);

        // .dynamic: DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_SONAME, DT_NULL
        b.position(dynamic);
        b.putLong(4).putLong(hash).putLong(5).putLong(dynstrOffset).putLong(6).putLong(dynsym);
        b.putLong(10).putLong(dynstr.length).putLong(11).putLong(SYM).putLong(14).putLong(sonameName);
        b.putLong(0).putLong(0);

        b.position(shstrtab);
        b.put(sectionNames);

        // section headers: null, .hash, .dynsym, .dynstr, .text, .dynamic, .shstrtab
        b.position(sectionHeaders + SHDR);
        sectionHeader(b, SECTION_NAMES.indexOf(".hash"), 5, 2, hash, hash, hashSize, 2, 0, 8, 4);
        sectionHeader(b, SECTION_NAMES.indexOf(".dynsym"), 11, 2, dynsym, dynsym, dynsymSize, 3, 1, 8, SYM);
        sectionHeader(b, SECTION_NAMES.indexOf(".dynstr"), 3, 2, dynstrOffset, dynstrOffset, dynstr.length, 0, 0,
                1, 0);
        sectionHeader(b, SECTION_NAMES.indexOf(".text"), 1, 6, text, text, CODE.length, 0, 0, 16, 0);
        sectionHeader(b, SECTION_NAMES.indexOf(".dynamic"), 6, 3, dynamicAddress, dynamic, dynamicSize, 3, 0, 8,
                DYN);
        sectionHeader(b, SECTION_NAMES.indexOf(".shstrtab"), 3, 0, 0, shstrtab, sectionNames.length, 0, 0, 1, 0);
        return b.array();
    }

    private static void programHeader(ByteBuffer b, int type, int flags, long offset, long address, long size,
            long alignment) {
        b.putInt(type).putInt(flags).putLong(offset).putLong(address).putLong(address).putLong(size).putLong(size)
                .putLong(alignment);
    }

    private static void sectionHeader(ByteBuffer b, int name, int type, long flags, long address, long offset,
            long size, int link, int info, long alignment, long entrySize) {
        b.putInt(name).putInt(type).putLong(flags).putLong(address).putLong(offset).putLong(size).putInt(link)
                .putInt(info).putLong(alignment).putLong(entrySize);
    }

    private static int align(int value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }
}
