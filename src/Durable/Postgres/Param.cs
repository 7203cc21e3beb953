using Npgsql;
using NpgsqlTypes;

namespace Fleet.Durable.Postgres;

/// <summary>Typed positional parameters: each matches its function argument's type exactly.</summary>
internal static class Param
{
    public static NpgsqlParameter Text(string? value) => Make(NpgsqlDbType.Text, value);

    public static NpgsqlParameter TextArray(string?[] values) => Make(NpgsqlDbType.Array | NpgsqlDbType.Text, values);

    public static NpgsqlParameter Bigint(long value) => Make(NpgsqlDbType.Bigint, value);

    public static NpgsqlParameter Bigint(long? value) => Make(NpgsqlDbType.Bigint, value);

    public static NpgsqlParameter BigintArray(long[] values) => Make(NpgsqlDbType.Array | NpgsqlDbType.Bigint, values);

    public static NpgsqlParameter Integer(int value) => Make(NpgsqlDbType.Integer, value);

    public static NpgsqlParameter IntegerArray(int[] values) => Make(NpgsqlDbType.Array | NpgsqlDbType.Integer, values);

    public static NpgsqlParameter Smallint(short value) => Make(NpgsqlDbType.Smallint, value);

    public static NpgsqlParameter Boolean(bool value) => Make(NpgsqlDbType.Boolean, value);

    public static NpgsqlParameter BooleanArray(bool[] values) => Make(NpgsqlDbType.Array | NpgsqlDbType.Boolean, values);

    public static NpgsqlParameter Uuid(Guid value) => Make(NpgsqlDbType.Uuid, value);

    private static NpgsqlParameter Make(NpgsqlDbType type, object? value) =>
        new() { NpgsqlDbType = type, Value = value ?? DBNull.Value };
}
